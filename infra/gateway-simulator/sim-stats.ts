/**
 * Counters the simulator exposes on GET /_sim/stats, so a test or chaos run can prove what
 * happened on the gateway's side: how many payouts executed, how many duplicates were refused,
 * and how many TCP connections the clients opened (keep-alive reuse, docs/DESIGN.md, lesson 7).
 * Counts start at zero with each process; per-key execution counts come from the journal and
 * survive restarts.
 */
export class SimStats {
  requests = 0;
  /** New records: executed plus rejected. */
  executions = 0;
  executed = 0;
  rejected = 0;
  /** Requests answered with a stored result instead of executing again. */
  refusedDuplicates = 0;
  /** Same key, different body: 422. */
  conflicts = 0;
  badRequests = 0;
  lookups = 0;
  lookupMisses = 0;
  transientErrors = 0;
  timeoutsAfterExecute = 0;
  resets = 0;
  outageRefusals = 0;
  journalFailures = 0;
  /** TCP connections accepted since start, and those open now. */
  connections = 0;
  openConnections = 0;
}
