import type { GroupSample, GroupState, PartitionSample } from './lag-sampler';

/**
 * The status rules, as pure functions of a window of samples (oldest first). Burrow's rules, with
 * two changes that answer its known false positives:
 *  - STOPPED comes from the group's membership (DescribeGroups), not from "no commit for a while":
 *    an idle topic whose consumer is caught up commits nothing and is still healthy.
 *  - Every rule but REBALANCING needs lag > 0, so a partition at lag 0 is OK whatever else holds.
 *
 * Per partition, first match wins:
 *  1. REBALANCING  the group is in PreparingRebalance or CompletingRebalance.
 *  2. OK           lag is 0 now.
 *  3. STOPPED      the group has no active members (Empty, Dead) and lag > 0.
 *  4. STALLED      members are there, lag > 0, and the committed offset has not moved for at least
 *                  stallAfterMs (every sample in that span had lag > 0 at the same offset).
 *  5. WARNING      the consumer is slower than the producer: at least minSamples samples spanning
 *                  at least minWindowMs, none at lag 0, and the newest lag is above the oldest
 *                  and is the highest of the window (rising, not a blip between two commits).
 *  6. OK           otherwise.
 * A group takes its worst partition's status (STOPPED > STALLED > WARNING > OK), or REBALANCING;
 * UNKNOWN when its newest sample failed (a missing topic, an unreachable broker): a monitor that
 * cannot measure must not report OK.
 */

export type LagStatus = 'OK' | 'WARNING' | 'STALLED' | 'STOPPED' | 'REBALANCING' | 'UNKNOWN';

/** The numeric form used by the sts_consumer_status gauge (documented in its HELP). */
export const STATUS_VALUE: Readonly<Record<LagStatus, number>> = {
  OK: 0,
  WARNING: 1,
  STALLED: 2,
  STOPPED: 3,
  REBALANCING: 4,
  UNKNOWN: 5,
};

const SEVERITY: Readonly<Record<LagStatus, number>> = {
  OK: 0,
  WARNING: 1,
  STALLED: 2,
  STOPPED: 3,
  REBALANCING: -1,
  UNKNOWN: -1,
};

export const EVALUATOR_DEFAULTS = {
  /** Samples older than this (ms, from the newest) leave the window; rates are measured over it. */
  windowMs: 5 * 60_000,
  /** A committed offset that stays put this long (ms) with lag > 0 and members present is STALLED. */
  stallAfterMs: 60_000,
  /** WARNING needs at least this many samples in the window... */
  minSamples: 3,
  /** ...spanning at least this long (ms), so two samples around one commit cannot raise it. */
  minWindowMs: 20_000,
};
export type EvaluatorOptions = typeof EVALUATOR_DEFAULTS;

export interface PartitionReport extends PartitionSample {
  /** Committed offsets per second over the window (messages consumed). */
  consumeRate: number;
  /** Last-stable-offset growth per second over the window (messages produced). */
  produceRate: number;
  /** Seconds to catch up at the current rates; 0 when caught up, null when never. */
  etaSeconds: number | null;
  status: LagStatus;
  reason: string;
}

export interface GroupReport {
  group: string;
  topic: string;
  at: number;
  state: GroupState;
  members: number;
  status: LagStatus;
  reason: string;
  lag: bigint;
  /** The oldest waiting record's age, over all partitions. */
  lagSeconds: number;
  consumeRate: number;
  produceRate: number;
  etaSeconds: number | null;
  partitions: PartitionReport[];
  error?: { code: string; message: string };
}

const REBALANCING_STATES: ReadonlySet<GroupState> = new Set([
  'PreparingRebalance',
  'CompletingRebalance',
]);
const MEMBERLESS_STATES: ReadonlySet<GroupState> = new Set(['Empty', 'Dead']);

/** The samples still inside the window that ends at the newest one. */
export function windowOf(
  history: GroupSample[],
  opts: Pick<EvaluatorOptions, 'windowMs'>,
): GroupSample[] {
  const newest = history[history.length - 1];
  if (!newest) return [];
  return history.filter((s) => newest.at - s.at <= opts.windowMs);
}

/** Judges one group/topic from its samples (oldest first, all of the same group and topic). */
export function evaluateGroup(
  history: GroupSample[],
  options: Partial<EvaluatorOptions> = {},
): GroupReport {
  const opts = { ...EVALUATOR_DEFAULTS, ...options };
  const window = windowOf(history, opts);
  const newest = window[window.length - 1];
  if (!newest) throw new Error('evaluateGroup needs at least one sample');
  const ok = window.filter((s) => !s.error);
  const partitions = newest.partitions.map((p) =>
    evaluatePartition(
      ok
        .map((s) => ({ at: s.at, p: s.partitions.find((x) => x.partition === p.partition) }))
        .filter((x): x is { at: number; p: PartitionSample } => x.p !== undefined),
      newest,
      opts,
    ),
  );
  const worst = partitions.reduce<PartitionReport | undefined>(
    (w, p) => (!w || SEVERITY[p.status] > SEVERITY[w.status] ? p : w),
    undefined,
  );
  const rebalancing = REBALANCING_STATES.has(newest.state);
  const lag = partitions.reduce((a, p) => a + p.lag, 0n);
  const etas = partitions.filter((p) => p.lag > 0n).map((p) => p.etaSeconds);
  return {
    group: newest.group,
    topic: newest.topic,
    at: newest.at,
    state: newest.state,
    members: newest.members,
    status: newest.error ? 'UNKNOWN' : rebalancing ? 'REBALANCING' : (worst?.status ?? 'OK'),
    reason: newest.error
      ? `not sampled: ${newest.error.message}`
      : rebalancing
        ? `group is ${newest.state}`
        : worst && worst.status !== 'OK'
          ? `partition ${worst.partition}: ${worst.reason}`
          : lag === 0n
            ? 'caught up'
            : `${lag} behind, consuming`,
    lag,
    lagSeconds: partitions.reduce((a, p) => Math.max(a, p.lagSeconds), 0),
    consumeRate: partitions.reduce((a, p) => a + p.consumeRate, 0),
    produceRate: partitions.reduce((a, p) => a + p.produceRate, 0),
    etaSeconds:
      etas.length === 0 ? 0 : etas.some((e) => e === null) ? null : Math.max(...(etas as number[])),
    partitions,
    ...(newest.error ? { error: newest.error } : {}),
  };
}

/** Judges one partition from its points in the window (oldest first). */
export function evaluatePartition(
  points: Array<{ at: number; p: PartitionSample }>,
  group: Pick<GroupSample, 'state' | 'members'>,
  opts: EvaluatorOptions,
): PartitionReport {
  const last = points[points.length - 1]!;
  const first = points[0]!;
  const now = last.p;
  const seconds = (last.at - first.at) / 1000;
  const consumeRate = seconds > 0 ? Number(position(now) - position(first.p)) / seconds : 0;
  const produceRate = seconds > 0 ? Number(now.end - first.p.end) / seconds : 0;
  const net = consumeRate - produceRate;
  const etaSeconds = now.lag === 0n ? 0 : net > 0 ? Number(now.lag) / net : null;
  const judged = (status: LagStatus, reason: string): PartitionReport => ({
    ...now,
    consumeRate,
    produceRate,
    etaSeconds,
    status,
    reason,
  });

  if (REBALANCING_STATES.has(group.state)) return judged('REBALANCING', `group is ${group.state}`);
  if (now.lag === 0n) return judged('OK', 'caught up');
  if (group.members === 0 || MEMBERLESS_STATES.has(group.state))
    return judged('STOPPED', `no active members and ${now.lag} waiting`);

  let runStart = last;
  for (let i = points.length - 1; i >= 0; i--) {
    const x = points[i]!;
    if (x.p.lag === 0n || x.p.committed !== now.committed) break;
    runStart = x;
  }
  const stuckMs = last.at - runStart.at;
  if (stuckMs >= opts.stallAfterMs) {
    return judged(
      'STALLED',
      `committed offset ${now.committed ?? 'none'} unchanged for ${Math.round(stuckMs / 1000)} s with ${now.lag} waiting`,
    );
  }

  const span = last.at - first.at;
  const lags = points.map((x) => x.p.lag);
  const rising = now.lag > first.p.lag && lags.every((l) => l > 0n && l <= now.lag);
  if (points.length >= opts.minSamples && span >= opts.minWindowMs && rising) {
    return judged(
      'WARNING',
      `lag grew from ${first.p.lag} to ${now.lag} in ${Math.round(span / 1000)} s: consuming ${rate(consumeRate)}/s, producing ${rate(produceRate)}/s`,
    );
  }
  return judged(
    'OK',
    points.length < 2
      ? `${now.lag} behind; one sample, no trend yet`
      : `${now.lag} behind, consuming ${rate(consumeRate)}/s`,
  );
}

/** Where the group reads next: its committed offset, or the log start when it has none. */
const position = (p: PartitionSample) =>
  p.committed === null || p.committed < p.logStart ? p.logStart : p.committed;

const rate = (r: number) => (r >= 10 ? r.toFixed(0) : r.toFixed(2));
