import type { FastifyInstance } from 'fastify';
import { faultPatchRoute } from '../fault-patch-route';
import type { ExecutionJournal } from './execution-journal';
import type { FaultPlan } from './fault-plan';
import type { SimStats } from './sim-stats';

/**
 * The simulator's control surface under /_sim, which a real gateway does not have: tests and the
 * chaos runner change faults at run time and read the counters that prove "executed at most once".
 * These routes never suffer injected faults.
 *
 *   GET /_sim/faults                  current fault settings and outage end
 *   PUT /_sim/faults                  JSON patch of fault-plan.ts settings, plus {"outageForMs": N}
 *   GET /_sim/stats                   SimStats + maxExecutionsPerKey, journal records, fsync rounds
 *   GET /_sim/executions/:key/count   journal records for one key (durable, survives restarts)
 */
export function registerControlRoutes(
  app: FastifyInstance,
  sim: { faults: FaultPlan; stats: SimStats; journal: ExecutionJournal },
): void {
  const { faults, stats, journal } = sim;
  app.get('/_sim/faults', async () => faults.snapshot());
  app.put('/_sim/faults', faultPatchRoute(faults));
  app.get('/_sim/stats', async () => ({
    ...stats,
    maxExecutionsPerKey: journal.maxExecutionsPerKey,
    journalRecords: journal.size,
    journalCommitRounds: journal.commits.rounds,
    journalMaxBatch: journal.commits.maxBatch,
  }));
  app.get<{ Params: { key: string } }>('/_sim/executions/:key/count', async (req) => ({
    key: req.params.key,
    count: journal.executionCount(req.params.key),
  }));
}
