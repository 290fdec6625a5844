import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../../services/run/app-context';
import { traceOf } from '../../../services/trace/trace-assembler';
import type { TraceQuery } from '../../../services/trace/trace-types';

/**
 * "Why was this seller paid this much?" (services/trace/), read-only, for viewers:
 *   GET /trace/payout/:id
 *   GET /trace/seller/:id?region=&cycle=
 *   GET /trace/order/:id
 *   GET /trace/ref/:ref            an item's key (event id, external_ref), else a payout, order or seller id
 * The body is a TraceResult (services/trace/trace-types.ts): ids and minor-unit amounts as decimal
 * strings, times in ISO 8601. An unknown id answers 404 STS_NOT_FOUND.
 */
export function traceRoutes(app: FastifyInstance, ctx: AppContext): void {
  const answer = (q: TraceQuery) => traceOf(ctx.db, q);
  const described = (summary: string, params: object, querystring?: object) => ({
    config: { minRole: 'viewer' as const },
    schema: { summary, description: 'The five steps of the trace, oldest first in each (TraceResult); 404 STS_NOT_FOUND for an unknown id.', tags: ['trace'], params, ...(querystring ? { querystring } : {}) },
  });

  app.get<{ Params: { id: string } }>('/trace/payout/:id', described('Trace a payout', idParams), (req) => answer({ kind: 'payout', id: req.params.id }));
  app.get<{ Params: { id: string }; Querystring: { region?: string; cycle?: string } }>('/trace/seller/:id', described("Trace a seller's cycle", idParams, sellerQuery), (req) =>
    answer({ kind: 'seller', id: req.params.id, region: req.query.region, cycleId: req.query.cycle === undefined ? undefined : BigInt(req.query.cycle) }),
  );
  app.get<{ Params: { id: string } }>('/trace/order/:id', described('Trace an order', idParams), (req) => answer({ kind: 'order', id: req.params.id }));
  app.get<{ Params: { ref: string } }>('/trace/ref/:ref', described('Trace whatever a reference names', refParams), (req) => answer({ kind: 'ref', id: req.params.ref }));
}

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: '^[0-9]{1,19}$', description: 'the id, decimal' } },
} as const;

const refParams = {
  type: 'object',
  required: ['ref'],
  properties: { ref: { type: 'string', minLength: 1, maxLength: 128, description: "an item's source_ref, or a payout, order or seller id" } },
} as const;

const sellerQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    region: { type: 'string', pattern: '^[A-Z]{2}$' },
    cycle: { type: 'string', pattern: '^[0-9]{8}$', description: 'YYYYMMDD of the cycle start' },
  },
} as const;
