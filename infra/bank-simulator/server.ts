import fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createLogger } from '../../runtime/logger';
import { BankJournal } from './bank-journal';
import { registerControlRoutes } from './control-routes';
import { FaultPlan, type FaultPatch } from './fault-plan';
import { BankFileProcessor } from './file-processor';
import { SimStats } from './sim-stats';

/**
 * The bank simulator: a host-to-host bank that takes pain.001.001.09 files from an OUTBOUND
 * folder and answers with pain.002.001.10 status reports and camt.054.001.08 debit notifications
 * in an INBOUND folder (file-processor.ts), executing every transfer at most once across crashes
 * and restarts (bank-journal.ts). Its HTTP surface is only for operators and tests: GET /health
 * and the /_sim control routes (control-routes.ts).
 *
 * /health answers 200 while the journal is writable, 503 once a journal write failed (nothing is
 * decided after that; restart the simulator).
 */

export const SIMULATOR_VERSION = '1.0.0';

export interface BankSimulatorOptions {
  /** Where the marketplace drops pain.001 files. */
  outboundDir: string;
  /** Where the simulator writes its reports. */
  inboundDir: string;
  /** Journal (journal.jsonl) and the received/ folder that received files are moved to. */
  journalDir: string;
  /** How often the OUTBOUND folder is scanned and due reports are written. Default 200 ms. */
  pollMs?: number;
  faults?: FaultPatch;
  /** pino level of the simulator's own log. Default 'warn'. */
  logLevel?: string;
}

export interface BankSimulator {
  readonly app: FastifyInstance;
  readonly journal: BankJournal;
  readonly faults: FaultPlan;
  readonly stats: SimStats;
  readonly processor: BankFileProcessor;
  /** Recovers, starts polling, then listens; returns the base URL. Port 0 takes a free port. */
  listen(port: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

export async function createBankSimulator(opts: BankSimulatorOptions): Promise<BankSimulator> {
  const logger = createLogger('bank-simulator', opts.logLevel ?? 'warn');
  const journal = await BankJournal.open(opts.journalDir);
  const faults = new FaultPlan(opts.faults);
  const stats = new SimStats();
  const processor = new BankFileProcessor({
    outboundDir: opts.outboundDir,
    inboundDir: opts.inboundDir,
    receivedDir: path.join(opts.journalDir, 'received'),
    pollMs: opts.pollMs ?? 200,
    journal,
    faults,
    stats,
    logger,
  });

  const app = fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: true,
  });

  app.get('/health', async (_req, reply) => {
    const failed = journal.failed;
    return reply.code(failed === undefined ? 200 : 503).send({
      ok: failed === undefined,
      service: 'bank-simulator',
      version: SIMULATOR_VERSION,
      outbound: opts.outboundDir,
      inbound: opts.inboundDir,
      journal: journal.file,
      files: journal.fileCount,
      executions: journal.executionCount,
      pendingReports: processor.pendingReports,
      ...(failed === undefined
        ? {}
        : { error: failed instanceof Error ? failed.message : String(failed) }),
    });
  });

  registerControlRoutes(app, { faults, stats, journal, processor });

  let started = false;
  return {
    app,
    journal,
    faults,
    stats,
    processor,
    async listen(port, host = '127.0.0.1') {
      // Recovery first: a simulator that answers /health has finished what its predecessor left.
      await processor.start();
      started = true;
      await app.listen({ port, host });
      const address = app.server.address() as AddressInfo;
      return `http://${host}:${address.port}`;
    },
    async close() {
      if (started) await processor.stop();
      await app.close();
      await journal.close();
    },
  };
}
