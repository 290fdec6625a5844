import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import type { ErrorCode } from '../../runtime/error-codes';
import { StsError } from '../../runtime/errors';
import { isRetriable } from '../../runtime/processor/retry-policy';
import type { AppContext } from '../../services/run/app-context';
import { INTAKE_DEFAULTS } from '../../services/uploads/upload-intake';
import { installAuth } from './auth';
import { OpsTokens } from './ops-tokens';
import type { CloseOptions } from '../../settlement/cycle-close/close-cycle';
import { installAudit } from './audit';
import { cycleRoutes } from './routes/cycles';
import { dashboardRoutes } from './routes/dashboard';
import { dlqRoutes } from './routes/dlq';
import { lagRoutes, type LagRouteOptions } from './routes/lag';
import { payeeRoutes } from './routes/payees';
import { payoutRoutes, type HoldRouteOptions } from './routes/payouts';
import { reconRoutes } from './routes/recon';
import { traceRoutes } from './routes/trace';
import { ruleRoutes } from './routes/rules';
import { uploadRoutes } from './routes/uploads';

/**
 * The ops HTTP API (docs/DESIGN.md, "Contracts"): token auth with viewer, operator and admin roles,
 * JSON with ids and amounts as decimal strings, and a stable error body `{ error, message, fix }`.
 * Request logging is ours, not fastify's, and records the principal's name, never a header.
 */
export const OPS_API_DEFAULTS = {
  /** Largest JSON body accepted (bytes); uploads are streamed and limited by maxUploadBytes. */
  bodyLimit: 1024 * 1024,
  /** Largest upload accepted (bytes); larger is refused with 413 before or while streaming. */
  maxUploadBytes: INTAKE_DEFAULTS.maxFileBytes,
};

/**
 * HTTP status per error code. A retriable error unlisted here is the system's trouble, not the
 * client's: 503, so a client retries. A 500 is left only for a bug, which the fuzz suite
 * (test/fuzz/ops-api.property.test.ts) hunts for with whatever a client can send.
 */
const STATUS_BY_CODE: ReadonlyMap<ErrorCode, number> = new Map<ErrorCode, number>([
  ['STS_NOT_FOUND', 404],
  ['STS_VALIDATION_FAILED', 400],
  ['STS_CONFIG_INVALID', 400],
  ['STS_CLOSE_REFUSED', 409],
  ['STS_WATERMARK_NOT_REACHED', 409],
  ['STS_LOCK_UNAVAILABLE', 409],
  ['STS_PAYEE_INVALID', 400],
  ['STS_PAYOUT_ACTION_REFUSED', 409],
  ['STS_UPLOAD_ACTION_REFUSED', 409],
  ['STS_COMMISSION_RULE_INVALID', 400],
  ['STS_COMMISSION_RULE_OVERLAP', 409],
]);

export async function buildOpsApi(ctx: AppContext, opts: Partial<typeof OPS_API_DEFAULTS> & { tokens?: string; intake?: Partial<typeof INTAKE_DEFAULTS>; close?: Pick<CloseOptions, 'plan' | 'payoutsTopic'>; lag?: LagRouteOptions; holds?: HoldRouteOptions } = {}): Promise<FastifyInstance> {
  const cfg = { ...OPS_API_DEFAULTS, ...opts };
  const tokens = OpsTokens.parse(opts.tokens ?? ctx.config.opsTokens);
  const app = Fastify({ logger: false, bodyLimit: cfg.bodyLimit });
  app.setReplySerializer((payload) => JSON.stringify(payload, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
  // Collects every route registered after it into the OpenAPI document served at /openapi.json.
  await app.register(swagger, {
    openapi: {
      info: { title: 'sts ops API', version: '1', description: 'Settlement pipeline operations. Ids and amounts are decimal strings.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  installAuth(app, tokens);
  installAudit(app, ctx.db, ctx.logger);

  app.addHook('onResponse', async (req, reply) => {
    ctx.logger.info({ method: req.method, route: req.routeOptions.url, status: reply.statusCode, actor: req.principal?.name, ms: Math.round(reply.elapsedTime) }, 'ops api request');
  });
  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof StsError) {
      const status = STATUS_BY_CODE.get(err.code) ?? (err.retriable ? 503 : 500);
      if (status >= 500) ctx.logger.error({ err }, 'ops api failure');
      return reply.code(status).send({ error: err.code, message: err.message, fix: err.fix });
    }
    const e = err as { statusCode?: number; code?: string; message?: string };
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) return reply.code(e.statusCode).send({ error: e.code ?? ('STS_BAD_REQUEST' satisfies ErrorCode), message: e.message });
    if (isRetriable(err)) {
      ctx.logger.warn({ err }, 'ops api dependency unavailable');
      return reply.code(503).send({ error: 'STS_SERVICE_UNAVAILABLE' satisfies ErrorCode, message: 'a dependency (database, broker) is unavailable; retry shortly' });
    }
    ctx.logger.error({ err }, 'ops api failure');
    return reply.code(500).send({ error: 'STS_UNEXPECTED' satisfies ErrorCode, message: 'internal error; see the ops API log' });
  });

  // Fastify's own 404 body differs from ours; a client sees one error shape on every path.
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: 'STS_NOT_FOUND' satisfies ErrorCode, message: `no route ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}` }));
  app.get('/health', async () => ({ ok: true }));
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  uploadRoutes(app, ctx, { ...opts.intake, maxFileBytes: cfg.maxUploadBytes });
  cycleRoutes(app, ctx, opts.close);
  payoutRoutes(app, ctx, opts.holds);
  payeeRoutes(app, ctx);
  dashboardRoutes(app);
  lagRoutes(app, ctx, opts.lag);
  dlqRoutes(app, ctx);
  reconRoutes(app, ctx);
  ruleRoutes(app, ctx);
  traceRoutes(app, ctx);
  return app;
}
