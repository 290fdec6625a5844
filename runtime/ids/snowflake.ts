/**
 * Snowflake ids: 64-bit, time-ordered, unique across every instance in every datacenter.
 *
 *   bit 63      sign, always 0, so an id fits a signed BIGINT and is always positive
 *   bits 62..22 41 bits  milliseconds since ID_EPOCH (2024-01-01T00:00:00Z): ~69.7 years, to 2093
 *   bits 21..19  3 bits  datacenter id, 0-7
 *   bits 18..12  7 bits  worker id, 0-127, LEASED per datacenter (worker-lease.ts)
 *   bits 11..0  12 bits  sequence: 4096 ids per millisecond per worker (~4M/s); more waits a ms
 *
 * Ids have 18 digits from October 2024 and 19 from mid-2031 (2^63-1 is 19 digits). They are
 * `bigint` in code and decimal strings on the wire: a JS number rounds them
 * (docs/DESIGN.md, lesson 8).
 *
 * The layout is fixed, not configurable: an id is decoded and compared by code that does not know
 * which generator made it, and two layouts in one table can collide.
 *
 * Why the worker id comes from a lease (docs/DESIGN.md, lesson 1): a generator that used the pod
 * index as its worker bits minted the same ids as its twin in a second datacenter. Here the only
 * way to build a generator is from an `IdLease`, which it checks on every mint, and each lease
 * carries a timestamp window (floorMs, ceilingMs] that never overlaps the window of the slot's
 * previous or next holder, so a handover cannot repeat an id even when the two hosts' clocks
 * disagree.
 */
import { z } from 'zod';
import { ConfigError } from '../errors';
import { ClockBackwardsError, IdTimeExhaustedError } from './id-errors';

export const ID_EPOCH_MS = Date.UTC(2024, 0, 1);
export const TIMESTAMP_BITS = 41;
export const DATACENTER_BITS = 3;
export const WORKER_BITS = 7;
export const SEQUENCE_BITS = 12;

export const MAX_DATACENTER_ID = (1 << DATACENTER_BITS) - 1;
export const MAX_WORKER_ID = (1 << WORKER_BITS) - 1;
export const MAX_SEQUENCE = (1 << SEQUENCE_BITS) - 1;
const WORKER_SHIFT = SEQUENCE_BITS;
const DATACENTER_SHIFT = SEQUENCE_BITS + WORKER_BITS;
const TIMESTAMP_SHIFT = BigInt(SEQUENCE_BITS + WORKER_BITS + DATACENTER_BITS);
/** Last millisecond the 41 time bits can hold, as Unix ms. */
export const MAX_TIMESTAMP_MS = ID_EPOCH_MS + 2 ** TIMESTAMP_BITS - 1;

/** Wall-clock time in Unix milliseconds; injectable so tests can move time back and forth. */
export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };

/**
 * What a generator needs from a worker lease. `assertValid` runs on EVERY mint, so a lease that
 * expired while its renew timer was starved (a long GC pause, a blocked event loop) stops minting
 * at once instead of at the next timer tick.
 */
export interface IdLease {
  readonly datacenterId: number;
  readonly workerId: number;
  /** The slot's previous holder may have stamped ids up to here (Unix ms): mint strictly after. */
  readonly floorMs: number;
  /** Throws IdLeaseLostError unless the lease is held and may stamp `timestampMs`. */
  assertValid(timestampMs: number): void;
}

export const SNOWFLAKE_DEFAULTS = {
  /**
   * How far back (ms) the clock may step and be waited out, by spinning, before `next()` throws
   * STS_CLOCK_BACKWARDS. NTP slews are usually a few ms; a bigger step means a broken clock, and
   * blocking the event loop for it would stall the whole process. Default 5.
   */
  maxBackwardsMs: 5,
} as const;

export const snowflakeOptionsSchema = z.object({
  maxBackwardsMs: z
    .number()
    .int()
    .min(0)
    .max(1_000, 'maxBackwardsMs must be at most 1000: next() spins while it waits')
    .default(SNOWFLAKE_DEFAULTS.maxBackwardsMs),
});

export interface SnowflakeOptions {
  maxBackwardsMs?: number;
  /** Default: Date.now. */
  clock?: Clock;
}

export interface DecomposedId {
  /** Unix milliseconds of the mint. */
  timestamp: number;
  datacenterId: number;
  workerId: number;
  sequence: number;
}

/** Builds an id from its parts; throws if a part is out of range (it would corrupt another). */
export function composeId(parts: DecomposedId): bigint {
  const { timestamp, datacenterId, workerId, sequence } = parts;
  if (!Number.isInteger(timestamp) || timestamp < ID_EPOCH_MS || timestamp > MAX_TIMESTAMP_MS) {
    throw new ClockBackwardsError(`timestamp ${timestamp} is outside the id range`, { timestamp });
  }
  if (!inRange(datacenterId, MAX_DATACENTER_ID) || !inRange(workerId, MAX_WORKER_ID)) {
    throw new ConfigError(`datacenter ${datacenterId} / worker ${workerId} out of range`);
  }
  if (!inRange(sequence, MAX_SEQUENCE)) throw new ConfigError(`sequence ${sequence} out of range`);
  // The low 22 bits fit a number, so only the time part pays for bigint arithmetic.
  const low = (datacenterId << DATACENTER_SHIFT) | (workerId << WORKER_SHIFT) | sequence;
  return (BigInt(timestamp - ID_EPOCH_MS) << TIMESTAMP_SHIFT) | BigInt(low);
}

/** Splits an id into its parts, for logs and debugging. Accepts the decimal string form too. */
export function decomposeId(id: bigint | string): DecomposedId {
  const v = typeof id === 'string' ? BigInt(id) : id;
  if (v < 0n || v >= 1n << 63n) throw new ConfigError(`${v} is not a snowflake id`);
  const low = Number(v & ((1n << TIMESTAMP_SHIFT) - 1n));
  return {
    timestamp: Number(v >> TIMESTAMP_SHIFT) + ID_EPOCH_MS,
    datacenterId: (low >> DATACENTER_SHIFT) & MAX_DATACENTER_ID,
    workerId: (low >> WORKER_SHIFT) & MAX_WORKER_ID,
    sequence: low & MAX_SEQUENCE,
  };
}

/**
 * Mints ids for one leased (datacenter, worker) slot. Synchronous on purpose: ids are minted in
 * tight loops over upload chunks, and the only waits (sequence overflow: under 1 ms; a small clock
 * step back: at most maxBackwardsMs) are shorter than an await round trip under load.
 *
 * Not shared across workers/threads: one generator per lease, one lease per generator.
 */
export class SnowflakeGenerator {
  private readonly clock: Clock;
  private readonly maxBackwardsMs: number;
  /** Timestamp of the last id; starts at the lease floor so the first id is stamped after it. */
  private lastTs: number;
  private sequence: number;
  /** composeId of (stampedTs, this slot, sequence 0). */
  private stamp = 0n;
  private stampedTs = -1;

  constructor(
    private readonly lease: IdLease,
    options: SnowflakeOptions = {},
  ) {
    const parsed = snowflakeOptionsSchema.safeParse({ maxBackwardsMs: options.maxBackwardsMs });
    if (!parsed.success) {
      throw new ConfigError(`snowflake options: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    }
    this.maxBackwardsMs = parsed.data.maxBackwardsMs;
    this.clock = options.clock ?? systemClock;
    // A full sequence at the floor forces the first id into the next millisecond after it.
    this.lastTs = Math.max(lease.floorMs, ID_EPOCH_MS - 1);
    this.sequence = MAX_SEQUENCE;
  }

  get datacenterId(): number {
    return this.lease.datacenterId;
  }

  get workerId(): number {
    return this.lease.workerId;
  }

  /**
   * The next id, strictly greater than every id this generator returned before.
   * Throws IdLeaseLostError (STS_ID_LEASE_LOST) once the lease is gone, for good, and
   * ClockBackwardsError (STS_CLOCK_BACKWARDS) if the clock is behind by more than maxBackwardsMs.
   */
  next(): bigint {
    let ts = this.clock.now();
    if (ts < this.lastTs) {
      const behind = this.lastTs - ts;
      if (behind > this.maxBackwardsMs) {
        throw new ClockBackwardsError(
          `clock is ${behind} ms behind the last id (limit ${this.maxBackwardsMs} ms)`,
          { behindMs: behind, lastTimestamp: this.lastTs, ...this.slot() },
        );
      }
      ts = this.waitFor(this.lastTs);
    }
    let sequence = 0;
    if (ts === this.lastTs) {
      if (this.sequence < MAX_SEQUENCE) {
        sequence = this.sequence + 1;
      } else {
        ts = this.waitFor(this.lastTs + 1);
      }
    }
    if (ts > MAX_TIMESTAMP_MS) {
      throw new IdTimeExhaustedError(this.slot());
    }
    // Checked before the state moves, and with the final timestamp, which may be past the ceiling.
    this.lease.assertValid(ts);
    this.lastTs = ts;
    this.sequence = sequence;
    // Everything but the sequence is fixed for the millisecond: composed (and range-checked) once
    // per millisecond, so an id in a tight loop costs one bigint OR.
    if (ts !== this.stampedTs) {
      this.stamp = composeId({ timestamp: ts, sequence: 0, ...this.slot() });
      this.stampedTs = ts;
    }
    return this.stamp | BigInt(sequence);
  }

  /** Spins until the clock reads at least `target`; returns the reading. */
  private waitFor(target: number): number {
    let ts = this.clock.now();
    while (ts < target) {
      // The clock may step back again while we wait; bail out rather than spin on a broken clock.
      if (target - ts > this.maxBackwardsMs + 1) {
        throw new ClockBackwardsError(`clock is ${target - ts} ms behind while waiting`, {
          behindMs: target - ts,
          ...this.slot(),
        });
      }
      ts = this.clock.now();
    }
    return ts;
  }

  private slot(): { datacenterId: number; workerId: number } {
    return { datacenterId: this.lease.datacenterId, workerId: this.lease.workerId };
  }
}

function inRange(n: number, max: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= max;
}
