import type { FastifyInstance } from 'fastify';
import type { ErrorCode } from '../../../runtime/error-codes';
import { StsError, ValidationError } from '../../../runtime/errors';
import { resolveStoredPath } from '../../../runtime/fs/stored-path';
import { cycleBounds } from '../../../runtime/billing/cycle-calendar';
import { closeCycle, type CloseOptions } from '../../../settlement/cycle-close/close-cycle';
import { previewClose } from '../../../settlement/cycle-close/close-preview';
import { verifyPayoutFile } from '../../../settlement/payout-file/payout-file-verify';
import type { AppContext } from '../../../services/run/app-context';

/**
 * Cycles, payouts and payout files. Closing is an operator action and runs the same closeCycle as
 * `sts settle close`, answered when the close has finished (or failed with its reason).
 */
export function cycleRoutes(app: FastifyInstance, ctx: AppContext, closeOpts: Pick<CloseOptions, 'plan' | 'payoutsTopic'> = {}): void {
  app.get<{ Querystring: { region?: string } }>('/cycles', { config: { minRole: 'viewer' }, schema: { querystring: regionQuery } }, async (req) => {
    const q = ctx.db('settlement_cycle as c')
      .leftJoin(
        ctx.db('payout').select('region', 'cycle_id').count({ payouts: '*' }).sum({ payout_total_minor: 'amount_minor' }).groupBy('region', 'cycle_id').as('p'),
        function () {
          this.on('p.region', 'c.region').andOn('p.cycle_id', 'c.cycle_id');
        },
      )
      .select('c.region', 'c.cycle_id', 'c.status', 'c.starts_at', 'c.cutoff_at', 'c.closed_at', 'p.payouts', 'p.payout_total_minor')
      .orderBy([{ column: 'c.cycle_id', order: 'desc' }, { column: 'c.region' }])
      .limit(100);
    if (req.query.region) q.where('c.region', req.query.region);
    const cycles = (await q) as Array<Record<string, unknown>>;
    const files = (await ctx.db('payout_file').select('region', 'cycle_id', 'currency', 'path', 'sha256', 'tx_count', 'ctrl_sum_minor', 'status', 'purpose')) as Array<Record<string, unknown>>;
    return cycles.map((c) => ({ ...c, files: files.filter((f) => f.region === c.region && String(f.cycle_id) === String(c.cycle_id)) }));
  });

  app.post<{ Body: { region: string; cutoff?: string; drain?: boolean } }>(
    '/cycles/close',
    {
      config: { minRole: 'operator' },
      schema: {
        body: {
          type: 'object',
          required: ['region'],
          additionalProperties: false,
          properties: { region: { type: 'string', pattern: '^[A-Z]{2}$' }, cutoff: { type: 'string', format: 'date-time' }, drain: { type: 'boolean' } },
        },
      },
    },
    async (req) => {
      const result = await closeCycle(
        { db: ctx.db, kafka: ctx.kafka, ids: await ctx.ids(), outbox: ctx.outbox, dataDir: ctx.config.dataDir, payoutFilesDir: ctx.config.payoutFilesDir, logger: ctx.logger },
        { region: req.body.region, cutoff: req.body.cutoff ? new Date(req.body.cutoff) : undefined, drainUntil: req.body.drain ? new Date() : undefined, watermarkTimeoutMs: 60_000, ...closeOpts },
      );
      return { ...result, files: result.files.map((f) => ({ currency: f.currency, path: f.relativePath, status: f.status, nbOfTxs: f.nbOfTxs, ctrlSumMinor: f.ctrlSumMinor, sha256: f.sha256 })) };
    },
  );

  // What closing the cycle would make, read-only (close-preview.ts), for the dashboard's close
  // confirmation. `:cycle` is a cycle id, or `latest` for the cycle POST /cycles/close would close
  // with the same optional `cutoff`. A viewer may look; amounts are minor-unit strings.
  app.get<{ Params: { region: string; cycle: string }; Querystring: { cutoff?: string } }>(
    '/cycles/:region/:cycle/preview',
    {
      config: { minRole: 'viewer' },
      schema: {
        params: {
          type: 'object',
          required: ['region', 'cycle'],
          additionalProperties: false,
          properties: { region: { type: 'string', pattern: '^[A-Z]{2}$' }, cycle: { type: 'string', pattern: '^([0-9]{8}|latest)$' } },
        },
        querystring: { type: 'object', additionalProperties: false, properties: { cutoff: { type: 'string', format: 'date-time' } } },
      },
    },
    async (req) => {
      let cutoff = req.query.cutoff === undefined ? undefined : new Date(req.query.cutoff);
      if (req.params.cycle !== 'latest') {
        if (cutoff) throw new ValidationError('give either a cycle id or `latest` with a cutoff, not both');
        try {
          cutoff = cycleBounds(req.params.region, BigInt(req.params.cycle)).cutoffAt;
        } catch (err) {
          if (err instanceof StsError) throw err;
          throw new ValidationError(`${req.params.cycle} is not a cycle id in ${req.params.region}: cycles start on a Monday (YYYYMMDD)`);
        }
      }
      return previewClose(ctx.db, { region: req.params.region, cutoff, rails: ctx.config.payoutRails, payeeCooloffHours: ctx.config.payeeCooloffHours, flags: ctx.config.preview });
    },
  );

  app.get<{ Querystring: { region?: string; cycle?: string; status?: string; limit?: number } }>(
    '/payouts',
    {
      config: { minRole: 'viewer' },
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { region: { type: 'string', pattern: '^[A-Z]{2}$' }, cycle: { type: 'string', pattern: '^[0-9]{8}$' }, status: { type: 'string', pattern: '^[A-Z_]{1,16}$' }, limit: { type: 'integer', minimum: 1, maximum: 1000 } },
        },
      },
    },
    async (req) => {
      const q = ctx.db('payout').select('id', 'cycle_id', 'region', 'shop_user_id', 'currency', 'amount_minor', 'status', 'rail', 'hold_reason', 'bank_msg_id', 'gateway_reference', 'failure_code', 'updated_at').orderBy('id').limit(req.query.limit ?? 100);
      if (req.query.region) q.where('region', req.query.region);
      if (req.query.cycle) q.where('cycle_id', req.query.cycle);
      if (req.query.status) q.where('status', req.query.status);
      return q;
    },
  );

  app.get<{ Querystring: { region: string; cycle: string; currency: string } }>(
    '/payout-files/verify',
    {
      config: { minRole: 'viewer' },
      schema: { querystring: { type: 'object', required: ['region', 'cycle', 'currency'], properties: { region: { type: 'string', pattern: '^[A-Z]{2}$' }, cycle: { type: 'string', pattern: '^[0-9]{8}$' }, currency: { type: 'string', pattern: '^[A-Z]{3}$' } } } },
    },
    async (req, reply) => {
      const row = (await ctx.db('payout_file').where({ region: req.query.region, cycle_id: req.query.cycle, currency: req.query.currency }).first('path')) as { path: string } | undefined;
      if (!row) return reply.code(404).send({ error: 'STS_NOT_FOUND' satisfies ErrorCode, message: 'no payout file for that region, cycle and currency' });
      return verifyPayoutFile(resolveStoredPath(ctx.config.dataDir, row.path), ctx.db);
    },
  );
}

const regionQuery = { type: 'object', additionalProperties: false, properties: { region: { type: 'string', pattern: '^[A-Z]{2}$' } } } as const;
