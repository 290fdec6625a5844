import type { FastifyInstance } from 'fastify';
import { ReconFixRefusedError } from '../../../services/recon/recon-errors';
import { listFindings } from '../../../services/recon/finding-store';
import { ReconRunner } from '../../../services/recon/recon-runner';
import type { Severity } from '../../../services/recon/recon-types';
import type { AppContext } from '../../../services/run/app-context';

/**
 * Reconciliation findings (docs/DESIGN.md, lesson 10: each finding is shown to ops, with its fix
 * where one exists).
 *   GET  /recon/findings?all&rule&severity&limit  viewer    open findings (all: resolved too)
 *   POST /recon/run                               operator  run every rule now; the run's result
 *   POST /recon/fix {rule, entity}                operator  apply the finding's documented fix
 * Filters are bound parameters, never SQL text: `?rule=x' OR 1=1 --` is a rule name nobody has.
 * A refused fix answers 409 with the reason and what to do instead.
 */
export function reconRoutes(app: FastifyInstance, ctx: AppContext): void {
  const runner = ReconRunner.fromConfig(ctx.config, { db: ctx.db, logger: ctx.logger });
  app.addHook('onClose', async () => runner.close());

  app.get<{ Querystring: { all?: boolean; rule?: string; severity?: Severity; limit?: number } }>(
    '/recon/findings',
    { config: { minRole: 'viewer' }, schema: { querystring: findingsQuery } },
    async (req) => ({ findings: await listFindings(ctx.db, req.query) }),
  );

  app.post('/recon/run', { config: { minRole: 'operator' } }, async () => runner.run());

  app.post<{ Body: { rule: string; entity: string } }>(
    '/recon/fix',
    { config: { minRole: 'operator' }, schema: { body: fixBody } },
    async (req, reply) => {
      try {
        return await runner.fix(req.body.rule, req.body.entity, {
          kafka: ctx.kafka,
          actor: `api:${req.principal!.name}`,
        });
      } catch (err) {
        if (err instanceof ReconFixRefusedError)
          return reply.code(409).send({ error: err.code, message: err.message, fix: err.fix });
        throw err;
      }
    },
  );
}

const findingsQuery = {
  type: 'object',
  properties: {
    all: { type: 'boolean' },
    rule: { type: 'string', maxLength: 64 },
    severity: { type: 'string', enum: ['INFO', 'WARNING', 'CRITICAL'] },
    limit: { type: 'integer', minimum: 1, maximum: 10000 },
  },
  additionalProperties: false,
} as const;

const fixBody = {
  type: 'object',
  properties: {
    rule: { type: 'string', minLength: 1, maxLength: 48 },
    entity: { type: 'string', minLength: 1, maxLength: 255 },
  },
  required: ['rule', 'entity'],
  additionalProperties: false,
} as const;
