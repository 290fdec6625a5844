import type { FastifyInstance } from 'fastify';
import type { ErrorCode } from '../../../runtime/error-codes';
import { CommissionRuleUnconfirmedError } from '../../../processors/commission/commission-errors';
import { ruleWireView } from '../../../processors/commission/commission-rule';
import { addRule, listRules } from '../../../processors/commission/rule-store';
import type { AppContext } from '../../../services/run/app-context';
import { auditAs } from '../audit';

/**
 * Commission rules, as `sts rules` has them:
 *   GET  /rules?region   viewer    every version, oldest first per region and category
 *   POST /rules          operator  add a version
 * A version with warnings (a rate jump, a past effective_from; processors/commission/rule-warnings.ts)
 * is answered 409 with the warnings and nothing written, unless the body says `"confirm": true`;
 * then it is written and an ops_audit row `commission-rule.confirm-warnings` with the warnings
 * commits with it, beside the request's own audit row.
 */
interface RuleBody {
  region: string;
  category: string;
  rateBps: number;
  minMinor?: string;
  maxMinor?: string | null;
  affiliateShareBps?: number;
  effectiveFrom: string;
  effectiveTo?: string | null;
  confirm?: boolean;
}

export function ruleRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get<{ Querystring: { region?: string } }>(
    '/rules',
    {
      config: { minRole: 'viewer' },
      schema: {
        summary: 'List commission rule versions',
        tags: ['rules'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { region: { type: 'string', pattern: '^[A-Z]{2}$' } },
        },
      },
    },
    async (req) => ({ rules: (await listRules(ctx.db, { region: req.query.region })).map(ruleWireView) }),
  );

  app.post<{ Body: RuleBody }>(
    '/rules',
    {
      config: { minRole: 'operator' },
      schema: {
        summary: 'Add a commission rule version',
        description:
          'Amounts are minor units as decimal strings, dates ISO 8601 instants. A version with warnings answers 409 with `warnings` and writes nothing unless `confirm` is true.',
        tags: ['rules'],
        body: {
          type: 'object',
          required: ['region', 'category', 'rateBps', 'effectiveFrom'],
          additionalProperties: false,
          properties: {
            region: { type: 'string', pattern: '^[A-Z]{2}$' },
            category: { type: 'string', minLength: 1, maxLength: 64 },
            rateBps: { type: 'integer' },
            minMinor: minor,
            maxMinor: { anyOf: [minor, { type: 'null' }] },
            affiliateShareBps: { type: 'integer' },
            effectiveFrom: { type: 'string', format: 'date-time' },
            effectiveTo: { anyOf: [{ type: 'string', format: 'date-time' }, { type: 'null' }] },
            confirm: { type: 'boolean' },
          },
        },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const actor = `api:${req.principal?.name ?? 'anonymous'}`;
      try {
        const rule = await addRule(
          ctx.db,
          {
            region: b.region,
            category: b.category,
            rateBps: b.rateBps,
            minMinor: b.minMinor === undefined ? undefined : BigInt(b.minMinor),
            maxMinor:
              b.maxMinor === undefined || b.maxMinor === null ? b.maxMinor : BigInt(b.maxMinor),
            affiliateShareBps: b.affiliateShareBps,
            effectiveFrom: new Date(b.effectiveFrom),
            effectiveTo:
              b.effectiveTo === undefined || b.effectiveTo === null
                ? b.effectiveTo
                : new Date(b.effectiveTo),
          },
          actor,
          {
            confirmed: b.confirm === true,
            rateWarnBps: ctx.config.ruleRateWarnBps,
            onConfirmed: (trx, added, warnings) =>
              auditAs(
                trx,
                actor,
                req.principal?.role ?? null,
                'commission-rule.confirm-warnings',
                added.id.toString(),
                { rule: ruleWireView(added), warnings },
              ),
          },
        );
        return reply.code(201).send({ rule: ruleWireView(rule) });
      } catch (err) {
        if (!(err instanceof CommissionRuleUnconfirmedError)) throw err;
        return reply
          .code(409)
          .send({
            error: err.code satisfies ErrorCode,
            message: err.message,
            fix: err.fix,
            warnings: err.warnings,
          });
      }
    },
  );
}

const minor = { type: 'string', pattern: '^[0-9]{1,18}$' } as const;

