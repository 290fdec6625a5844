import type { FastifyInstance } from 'fastify';
import { faultPatchRoute } from '../fault-patch-route';
import type { BankJournal } from './bank-journal';
import type { FaultPlan } from './fault-plan';
import type { BankFileProcessor } from './file-processor';
import type { SimStats } from './sim-stats';

/**
 * The bank simulator's control surface under /_sim (a real bank has none; its interface is the
 * two folders): tests and the chaos runner set faults and read the counters that prove "executed
 * at most once".
 *
 *   GET  /_sim/stats                     SimStats (this process) + the journal's totals and
 *                                        maxExecutionsPerEndToEndId (all processes, durable)
 *   GET  /_sim/faults                    current fault settings (fault-plan.ts)
 *   POST /_sim/faults                    JSON patch of those settings; 400 INVALID_FAULTS
 *   POST /_sim/faults/reset              back to the defaults
 *   GET  /_sim/executions?endToEndId=ID  the executions of one EndToEndId (count must be <= 1);
 *                                        without endToEndId, all executions (limit, default 1000)
 *   GET  /_sim/files?msgId=ID            decided files (outcome, reports, reports still due)
 */
export function registerControlRoutes(
  app: FastifyInstance,
  sim: { faults: FaultPlan; stats: SimStats; journal: BankJournal; processor: BankFileProcessor },
): void {
  const { faults, stats, journal, processor } = sim;

  app.get('/_sim/stats', async () => ({
    ...stats,
    maxExecutionsPerEndToEndId: journal.maxExecutionsPerEndToEndId,
    pendingReports: processor.pendingReports,
    journal: {
      records: journal.size,
      files: journal.fileCount,
      executions: journal.executionCount,
      reports: journal.reportCount,
    },
  }));

  app.get('/_sim/faults', async () => faults.snapshot());
  app.post('/_sim/faults', faultPatchRoute(faults));
  app.post('/_sim/faults/reset', async () => faults.reset());

  app.get<{ Querystring: { endToEndId?: string; limit?: string } }>(
    '/_sim/executions',
    async (req, reply) => {
      const { endToEndId } = req.query;
      if (endToEndId !== undefined) {
        const executions = journal.executionsOf(endToEndId);
        return { endToEndId, count: executions.length, executions };
      }
      const limit = Number(req.query.limit ?? 1000);
      if (!Number.isInteger(limit) || limit < 1)
        return reply
          .code(400)
          .send({ error: 'INVALID_REQUEST', message: 'limit must be a positive integer' });
      const all = journal.allExecutions();
      return { count: all.length, executions: all.slice(-limit) };
    },
  );

  app.get<{ Querystring: { msgId?: string } }>('/_sim/files', async (req) => {
    const files = journal
      .allFiles()
      .filter((f) => req.query.msgId === undefined || f.msgId === req.query.msgId);
    return {
      count: files.length,
      files: files.map((f) => ({
        seq: f.seq,
        msgId: f.msgId,
        fileName: f.fileName,
        receivedAs: f.receivedAs,
        decidedAt: f.decidedAt,
        status: f.status,
        ...(f.reason === undefined ? {} : { reason: f.reason, reasonText: f.reasonText }),
        transfers: f.transfers.length,
        executed: f.transfers.filter((t) => t.status === 'ACSC').length,
        reports: f.reports,
        written: [...journal.written(f.seq)],
        finalDueAt: f.finalDueAt,
      })),
    };
  });
}
