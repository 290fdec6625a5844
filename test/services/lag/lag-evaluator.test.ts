import {
  evaluateGroup,
  evaluatePartition,
  EVALUATOR_DEFAULTS,
  STATUS_VALUE,
  windowOf,
} from '../../../services/lag/lag-evaluator';
import type { GroupSample, GroupState, PartitionSample } from '../../../services/lag/lag-sampler';

/** Every status rule of lag-evaluator.ts, on hand-made sample series (the evaluator is pure). */
const OPTS = {
  ...EVALUATOR_DEFAULTS,
  windowMs: 120_000,
  stallAfterMs: 30_000,
  minSamples: 3,
  minWindowMs: 10_000,
};
const T0 = 1_795_000_000_000;

function part(
  committed: bigint | null,
  end: bigint,
  lag = end - (committed ?? 0n),
  partition = 0,
): PartitionSample {
  return {
    partition,
    committed,
    logStart: 0n,
    end,
    lag,
    nextOffset: lag > 0n ? end - lag : null,
    lagSeconds: lag > 0n ? 5 : 0,
    owner: null,
  };
}

function sample(
  atSec: number,
  parts: PartitionSample[],
  state: GroupState = 'Stable',
  members = 1,
): GroupSample {
  return {
    group: 'g.test',
    topic: 't.test',
    at: T0 + atSec * 1000,
    state,
    members,
    partitions: parts,
  };
}

/** One partition: [seconds, committed, end] per sample. */
const series = (
  rows: Array<[number, bigint | null, bigint]>,
  state: GroupState = 'Stable',
  members = 1,
) => rows.map(([s, c, e]) => sample(s, [part(c, e)], state, members));

describe('lag evaluator', () => {
  test('OK when lag is 0, even with no members and no commits for a long time (Burrow false positive)', () => {
    const idle = series(
      [
        [0, 100n, 100n],
        [60, 100n, 100n],
        [110, 100n, 100n],
      ],
      'Empty',
      0,
    );
    const r = evaluateGroup(idle, OPTS);
    expect(r.status).toBe('OK');
    expect(r.partitions[0]).toMatchObject({
      status: 'OK',
      reason: 'caught up',
      etaSeconds: 0,
      lagSeconds: 0,
    });
  });

  test('STOPPED when the group has no active members and lag > 0', () => {
    for (const state of ['Empty', 'Dead'] as const) {
      const r = evaluateGroup(series([[0, 10n, 15n]], state, 0), OPTS);
      expect(r.status).toBe('STOPPED');
      expect(r.reason).toContain('no active members');
    }
  });

  test('REBALANCING while the group prepares or completes a rebalance, whatever the lag', () => {
    for (const state of ['PreparingRebalance', 'CompletingRebalance'] as const) {
      expect(evaluateGroup(series([[0, 10n, 15n]], state, 0), OPTS).status).toBe('REBALANCING');
      expect(evaluateGroup(series([[0, 15n, 15n]], state, 2), OPTS).status).toBe('REBALANCING');
    }
  });

  test('STALLED when members are there and the committed offset stays put with lag for stallAfterMs', () => {
    const stuck = series([
      [0, 40n, 50n],
      [10, 40n, 52n],
      [20, 40n, 52n],
      [31, 40n, 55n],
    ]);
    const r = evaluateGroup(stuck, OPTS);
    expect(r.status).toBe('STALLED');
    expect(r.reason).toMatch(/committed offset 40 unchanged for 31 s/);
    // Shorter than stallAfterMs: not yet.
    expect(evaluateGroup(stuck.slice(0, 3), OPTS).status).not.toBe('STALLED');
  });

  test('a stall counts from the first sample with lag at that offset, not from the last commit', () => {
    // Caught up at 40 for a minute, then one record arrives and is not processed for 20 s.
    const r = evaluateGroup(
      series([
        [0, 40n, 40n],
        [30, 40n, 40n],
        [60, 40n, 40n],
        [70, 40n, 41n],
        [90, 40n, 41n],
      ]),
      OPTS,
    );
    expect(r.status).toBe('OK');
    expect(
      evaluateGroup(
        series([
          [0, 40n, 40n],
          [60, 40n, 40n],
          [70, 40n, 41n],
          [101, 40n, 41n],
        ]),
        OPTS,
      ).status,
    ).toBe('STALLED');
  });

  test('WARNING when the consumer moves but slower than the producer (lag rising to a new high)', () => {
    const slow = series([
      [0, 100n, 110n],
      [5, 110n, 130n],
      [10, 120n, 150n],
      [15, 130n, 170n],
    ]);
    const r = evaluateGroup(slow, OPTS);
    expect(r.status).toBe('WARNING');
    const p = r.partitions[0]!;
    expect(p.consumeRate).toBeCloseTo(2, 5);
    expect(p.produceRate).toBeCloseTo(4, 5);
    expect(p.etaSeconds).toBeNull();
    expect(r.reason).toMatch(/lag grew from 10 to 40/);
  });

  test('no WARNING with too few samples, a too short window, a zero in the window or a lag below its high', () => {
    expect(
      evaluateGroup(
        series([
          [0, 100n, 110n],
          [15, 130n, 170n],
        ]),
        OPTS,
      ).status,
    ).toBe('OK');
    expect(
      evaluateGroup(
        series([
          [0, 100n, 110n],
          [3, 110n, 130n],
          [6, 120n, 150n],
        ]),
        OPTS,
      ).status,
    ).toBe('OK');
    expect(
      evaluateGroup(
        series([
          [0, 100n, 100n],
          [5, 110n, 130n],
          [10, 120n, 150n],
          [15, 130n, 170n],
        ]),
        OPTS,
      ).status,
    ).toBe('OK');
    // A batch commit just happened: lag fell from its high, the consumer is keeping up.
    expect(
      evaluateGroup(
        series([
          [0, 100n, 110n],
          [5, 100n, 140n],
          [10, 135n, 150n],
          [15, 135n, 160n],
        ]),
        OPTS,
      ).status,
    ).toBe('OK');
  });

  test('OK while catching up, with rates and an ETA from the window', () => {
    const r = evaluateGroup(
      series([
        [0, 0n, 1000n],
        [10, 200n, 1100n],
        [20, 400n, 1200n],
      ]),
      OPTS,
    );
    expect(r.status).toBe('OK');
    const p = r.partitions[0]!;
    expect(p.consumeRate).toBeCloseTo(20, 5);
    expect(p.produceRate).toBeCloseTo(10, 5);
    expect(p.etaSeconds).toBeCloseTo(800 / 10, 5);
    expect(r.etaSeconds).toBeCloseTo(80, 5);
  });

  test('a group takes its worst partition; lag sums, lag seconds is the oldest', () => {
    const s = (at: number, c1: bigint) =>
      sample(at, [part(50n, 50n, 0n, 0), part(c1, 60n, 60n - c1, 1)]);
    const r = evaluateGroup([s(0, 10n), s(20, 10n), s(40, 10n)], OPTS);
    expect(r.partitions.map((p) => p.status)).toEqual(['OK', 'STALLED']);
    expect(r.status).toBe('STALLED');
    expect(r.reason).toMatch(/^partition 1: /);
    expect(r.lag).toBe(50n);
    expect(r.lagSeconds).toBe(5);
  });

  test('a failed sample is UNKNOWN, never OK', () => {
    const failed: GroupSample = {
      ...sample(0, []),
      error: { code: 'STS_KAFKA_READ_FAILED', message: 'no topic' },
    };
    const r = evaluateGroup([failed], OPTS);
    expect(r.status).toBe('UNKNOWN');
    expect(r.error?.code).toBe('STS_KAFKA_READ_FAILED');
  });

  test('a partition without a committed offset counts from the log start', () => {
    const points = [{ at: T0, p: { ...part(null, 30n, 30n), logStart: 0n } }];
    expect(evaluatePartition(points, { state: 'Dead', members: 0 }, OPTS).status).toBe('STOPPED');
    expect(evaluatePartition(points, { state: 'Stable', members: 1 }, OPTS).reason).toMatch(
      /one sample/,
    );
  });

  test('the window drops samples older than windowMs, and the status enum is stable', () => {
    const kept = windowOf(
      series([
        [0, 1n, 1n],
        [100, 1n, 1n],
        [200, 1n, 1n],
      ]),
      { windowMs: 120_000 },
    );
    expect(kept.map((s) => (s.at - T0) / 1000)).toEqual([100, 200]);
    expect(STATUS_VALUE).toEqual({
      OK: 0,
      WARNING: 1,
      STALLED: 2,
      STOPPED: 3,
      REBALANCING: 4,
      UNKNOWN: 5,
    });
  });
});
