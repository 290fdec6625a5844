import { z } from 'zod';
import { ConfigError } from '../../runtime/errors';

/**
 * Fault injection for the gateway simulator: the failures a real payment gateway shows under
 * load, each with a rate so a chaos run can mix them. Set at start (flags, STS_GATEWAY_FAULTS) and
 * changed at run time with PUT /_sim/faults. Rates are probabilities per request, drawn from a
 * seeded generator so the same seed and the same request order give the same faults.
 *
 * Where each fault strikes, and what the caller can know afterwards:
 *   outage                  every /v1 request answers 503 until it ends; nothing executes
 *   latency + jitter        delay before any work
 *   reset                   the socket is destroyed BEFORE executing (caller cannot tell: unknown)
 *   transient               503 BEFORE executing (safe to retry with the same key)
 *   timeout-after-execute   executes and journals, THEN holds the answer for holdMs or destroys the
 *                           socket: the caller sees a timeout although the payout was made
 */

export const FAULT_DEFAULTS = {
  /** Fixed delay before each /v1 request is handled, in ms. Default 0. */
  latencyMs: 0,
  /** Extra delay drawn uniformly from [0, jitterMs), in ms. Default 0. */
  jitterMs: 0,
  /** Share of /v1 requests answered 503 before any work. Default 0. */
  transientRate: 0,
  /** Share of executions whose answer is withheld after the record is durable. Default 0. */
  timeoutAfterExecuteRate: 0,
  /** 'hold' answers only after holdMs; 'destroy' closes the socket without an answer. Default 'hold'. */
  timeoutMode: 'hold' as 'hold' | 'destroy',
  /** How long a held answer waits, in ms; set it above the client's response timeout. Default 30000. */
  holdMs: 30_000,
  /** Share of /v1 requests whose socket is destroyed before any work. Default 0. */
  resetRate: 0,
  /** Seed of the fault generator; setting it (even to the same value) restarts the sequence. Default 1. */
  seed: 1,
  /** Accounts starting with any of these are refused with INVALID_ACCOUNT. Default ['INVALID']. */
  rejectAccountPrefixes: ['INVALID'] as string[],
};

export type FaultSettings = typeof FAULT_DEFAULTS;

const rate = z.number().min(0).max(1);

const settingsSchema = z
  .object({
    latencyMs: z.number().int().min(0).max(600_000),
    jitterMs: z.number().int().min(0).max(600_000),
    transientRate: rate,
    timeoutAfterExecuteRate: rate,
    timeoutMode: z.enum(['hold', 'destroy']),
    holdMs: z.number().int().min(0).max(3_600_000),
    resetRate: rate,
    seed: z.number().int(),
    rejectAccountPrefixes: z.array(z.string().min(1)),
  })
  .strict();

/** A PUT /_sim/faults body: any subset of the settings, plus an outage starting now. */
const patchSchema = settingsSchema
  .partial()
  .extend({
    /** Every /v1 request answers 503 for this long from now; 0 ends a running outage. */
    outageForMs: z.number().int().min(0).max(3_600_000).optional(),
  })
  .strict();

export type FaultPatch = z.input<typeof patchSchema>;

export interface FaultSnapshot extends FaultSettings {
  /** ISO time the current outage ends, or null. */
  outageUntil: string | null;
}

export class FaultPlan {
  private settings: FaultSettings;
  private rng: () => number;
  private outageUntilMs = 0;

  constructor(initial: FaultPatch = {}) {
    this.settings = { ...FAULT_DEFAULTS };
    this.rng = mulberry32(this.settings.seed);
    this.update(initial);
  }

  /** Applies a patch (validated as a whole, so a bad field changes nothing) and returns the result. */
  update(patch: unknown): FaultSnapshot {
    const parsed = patchSchema.safeParse(patch ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.join('.') || 'faults';
      throw new ConfigError(
        `gateway simulator faults ${field}: ${issue?.message ?? 'invalid'}`,
        `fix ${field} in the fault settings`,
      );
    }
    const { outageForMs, ...rest } = parsed.data;
    const next = { ...this.settings, ...rest };
    if (next.transientRate + next.resetRate > 1) {
      throw new ConfigError(
        'gateway simulator faults: transientRate + resetRate must not exceed 1',
        'lower transientRate or resetRate',
      );
    }
    this.settings = next;
    if (rest.seed !== undefined) this.rng = mulberry32(rest.seed);
    if (outageForMs !== undefined)
      this.outageUntilMs = outageForMs === 0 ? 0 : Date.now() + outageForMs;
    return this.snapshot();
  }

  snapshot(): FaultSnapshot {
    return {
      ...this.settings,
      outageUntil: this.outageActive() ? new Date(this.outageUntilMs).toISOString() : null,
    };
  }

  get current(): Readonly<FaultSettings> {
    return this.settings;
  }

  outageActive(now = Date.now()): boolean {
    return now < this.outageUntilMs;
  }

  /** Milliseconds left in the outage, for a Retry-After header. */
  outageRemainingMs(now = Date.now()): number {
    return Math.max(0, this.outageUntilMs - now);
  }

  delayMs(): number {
    const { latencyMs, jitterMs } = this.settings;
    return latencyMs + (jitterMs > 0 ? Math.floor(this.rng() * jitterMs) : 0);
  }

  /**
   * Which pre-execution fault, if any, hits this request. One draw decides between reset and
   * transient, so their rates add up instead of shadowing each other.
   */
  beforeExecute(): 'reset' | 'transient' | undefined {
    const u = this.rng();
    if (u < this.settings.resetRate) return 'reset';
    if (u < this.settings.resetRate + this.settings.transientRate) return 'transient';
    return undefined;
  }

  withholdAfterExecute(): boolean {
    return this.rng() < this.settings.timeoutAfterExecuteRate;
  }

  isRejectedAccount(account: string): boolean {
    return this.settings.rejectAccountPrefixes.some((p) => account.startsWith(p));
  }
}

/** A small seeded PRNG (mulberry32): reproducible runs need no dependency. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
