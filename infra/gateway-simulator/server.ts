import fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { AddressInfo } from 'node:net';
import {
  IDEMPOTENCY_KEY_HEADER,
  INVALID_ACCOUNT,
  REPLAYED_HEADER,
  type GatewayErrorWire,
  type PayoutResultWire,
} from '../../runtime/gateway/gateway-wire';
import { createLogger } from '../../runtime/logger';
import { registerControlRoutes } from './control-routes';
import { ExecutionJournal, type ExecutionRecord } from './execution-journal';
import { FaultPlan, type FaultPatch } from './fault-plan';
import {
  fingerprint,
  firstIssue,
  idempotencyKeySchema,
  payoutInstructionSchema,
} from './payout-request';
import { reportPage, type ReportQuery } from './settlement-report';
import { SimStats } from './sim-stats';

/**
 * The payment gateway simulator's HTTP surface (contract: runtime/gateway/gateway-wire.ts).
 *
 * Status codes:
 *   200  executed, rejected (status REJECTED + failure_code, e.g. INVALID_ACCOUNT), or a replay
 *        of the stored result for a key already seen with the same body (header idempotent-replayed)
 *   400  no Idempotency-Key, or a body that breaks the contract; nothing executed
 *   404  GET by key: the key never executed
 *   422  the key was used before with a different body; nothing executed (a caller bug)
 *   500  the journal could not be written; nothing acknowledged
 *   503  outage or transient fault; nothing executed
 * A reset or timeout-after-execute fault answers nothing at all (fault-plan.ts). The report is
 * settlement-report.ts; the /_sim control routes are control-routes.ts.
 *
 * A key executes at most once: the journal is checked first, then the in-flight map, so two
 * concurrent requests with one key share a single journal append.
 */

export const SIMULATOR_VERSION = '1.0.0';

export interface GatewaySimulatorOptions {
  /** Directory of the execution journal (executions.jsonl). */
  journalDir: string;
  /** Initial fault settings; the defaults inject nothing. */
  faults?: FaultPatch;
  /** pino level of the simulator's own log. Default 'warn'; requests are never logged one by one. */
  logLevel?: string;
}

export interface GatewaySimulator {
  readonly app: FastifyInstance;
  readonly journal: ExecutionJournal;
  readonly faults: FaultPlan;
  readonly stats: SimStats;
  /** Starts listening and returns the base URL; port 0 takes a free port. */
  listen(port: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

export async function createGatewaySimulator(
  opts: GatewaySimulatorOptions,
): Promise<GatewaySimulator> {
  const journal = await ExecutionJournal.open(opts.journalDir);
  const faults = new FaultPlan(opts.faults);
  const stats = new SimStats();
  const inflight = new Map<string, { fp: string; done: Promise<ExecutionRecord> }>();
  const holds = new Set<() => void>();

  const app = fastify({
    loggerInstance: createLogger('gateway-simulator', opts.logLevel ?? 'warn') as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: true,
  });
  app.server.on('connection', (socket) => {
    stats.connections += 1;
    stats.openConnections += 1;
    socket.once('close', () => (stats.openConnections -= 1));
  });
  // Held answers would keep a closing server waiting for holdMs; release them instead.
  app.addHook('preClose', (done) => {
    for (const release of [...holds]) release();
    done();
  });

  function hold(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const release = () => {
        clearTimeout(timer);
        holds.delete(release);
        resolve();
      };
      const timer = setTimeout(release, ms);
      holds.add(release);
    });
  }

  /** The infrastructure faults every /v1 route shares. True when they already answered. */
  async function faultAnswered(req: FastifyRequest, reply: FastifyReply): Promise<boolean> {
    if (faults.outageActive()) {
      stats.outageRefusals += 1;
      const seconds = Math.max(1, Math.ceil(faults.outageRemainingMs() / 1000));
      void reply
        .code(503)
        .header('retry-after', String(seconds))
        .send(error('OUTAGE', 'the gateway is down'));
      return true;
    }
    const delay = faults.delayMs();
    if (delay > 0) await hold(delay);
    const fault = faults.beforeExecute();
    if (fault === 'reset') {
      stats.resets += 1;
      dropConnection(req, reply);
      return true;
    }
    if (fault === 'transient') {
      stats.transientErrors += 1;
      void reply
        .code(503)
        .send(error('TRANSIENT', 'temporarily unavailable, retry with the same key'));
      return true;
    }
    return false;
  }

  function replay(stored: ExecutionRecord, fp: string, reply: FastifyReply) {
    if (stored.fp !== fp) {
      stats.conflicts += 1;
      return reply
        .code(422)
        .send(
          error(
            'IDEMPOTENCY_KEY_REUSED',
            `key ${stored.key} was first used for payout ${stored.payout_id} with another body`,
          ),
        );
    }
    stats.refusedDuplicates += 1;
    return reply.code(200).header(REPLAYED_HEADER, 'true').send(result(stored));
  }

  app.get('/health', async () => ({
    ok: true,
    service: 'gateway-simulator',
    version: SIMULATOR_VERSION,
    records: journal.size,
    journal: journal.file,
  }));

  app.post('/v1/payouts', async (req, reply) => {
    stats.requests += 1;
    if (await faultAnswered(req, reply)) return reply;
    const rawKey = req.headers[IDEMPOTENCY_KEY_HEADER];
    const keyParse = idempotencyKeySchema.safeParse(rawKey);
    if (!keyParse.success) {
      stats.badRequests += 1;
      const why = rawKey === undefined ? 'is required' : firstIssue(keyParse.error);
      return reply
        .code(400)
        .send(error('IDEMPOTENCY_KEY_INVALID', `Idempotency-Key header ${why}`));
    }
    const body = payoutInstructionSchema.safeParse(req.body);
    if (!body.success) {
      stats.badRequests += 1;
      return reply.code(400).send(error('INVALID_REQUEST', firstIssue(body.error)));
    }
    const key = keyParse.data;
    const fp = fingerprint(body.data);

    const stored = journal.get(key);
    if (stored) return replay(stored, fp, reply);
    const running = inflight.get(key);
    if (running) {
      if (running.fp !== fp) {
        stats.conflicts += 1;
        return reply
          .code(422)
          .send(error('IDEMPOTENCY_KEY_REUSED', `key ${key} is being executed with another body`));
      }
      const record = await running.done.catch(() => undefined);
      if (!record)
        return reply.code(500).send(error('JOURNAL_FAILED', 'the execution could not be recorded'));
      return replay(record, fp, reply);
    }

    const rejected = faults.isRejectedAccount(body.data.account);
    const done = journal.append({
      key,
      fp,
      ...body.data,
      status: rejected ? 'REJECTED' : 'EXECUTED',
      ...(rejected ? { failure_code: INVALID_ACCOUNT } : {}),
    });
    inflight.set(key, { fp, done });
    let record: ExecutionRecord;
    try {
      record = await done;
    } catch (err) {
      stats.journalFailures += 1;
      req.log.error({ err }, 'journal append failed; refusing to acknowledge');
      return reply.code(500).send(error('JOURNAL_FAILED', 'the execution could not be recorded'));
    } finally {
      inflight.delete(key);
    }
    stats.executions += 1;
    if (rejected) stats.rejected += 1;
    else stats.executed += 1;

    if (faults.withholdAfterExecute()) {
      stats.timeoutsAfterExecute += 1;
      if (faults.current.timeoutMode === 'destroy') {
        dropConnection(req, reply);
        return reply;
      }
      await hold(faults.current.holdMs);
    }
    return reply.code(200).send(result(record));
  });

  app.get<{ Params: { key: string } }>('/v1/payouts/:key', async (req, reply) => {
    stats.requests += 1;
    stats.lookups += 1;
    if (await faultAnswered(req, reply)) return reply;
    const record = journal.get(req.params.key);
    if (!record) {
      stats.lookupMisses += 1;
      return reply
        .code(404)
        .send(error('NOT_FOUND', `no payout executed under key ${req.params.key}`));
    }
    return reply.code(200).send(result(record));
  });

  app.get<{ Querystring: ReportQuery }>('/v1/payouts', async (req, reply) => {
    stats.requests += 1;
    if (await faultAnswered(req, reply)) return reply;
    const page = reportPage(journal, req.query);
    if (typeof page === 'string') {
      stats.badRequests += 1;
      return reply.code(400).send(error('INVALID_REQUEST', page));
    }
    return reply.code(200).send(page);
  });

  registerControlRoutes(app, { faults, stats, journal });

  return {
    app,
    journal,
    faults,
    stats,
    async listen(port, host = '127.0.0.1') {
      await app.listen({ port, host });
      const address = app.server.address() as AddressInfo;
      return `http://${host}:${address.port}`;
    },
    async close() {
      await app.close();
      await journal.close();
    },
  };
}

/** No answer at all: the caller sees a reset and cannot tell whether anything happened. */
function dropConnection(req: FastifyRequest, reply: FastifyReply): void {
  reply.hijack();
  req.raw.socket.destroy();
}

function error(code: string, message: string): GatewayErrorWire {
  return { error: code, message };
}

function result(r: ExecutionRecord): PayoutResultWire {
  return {
    key: r.key,
    status: r.status,
    reference: r.reference,
    ...(r.failure_code ? { failure_code: r.failure_code } : {}),
    executed_at: r.executed_at,
  };
}
