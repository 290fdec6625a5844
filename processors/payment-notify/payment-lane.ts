import type { AttemptTail } from './payment-attempts';
import type { SubmittedPayout } from './payout-submit';

/**
 * The gateway calls of one partition: at most `maxInFlight` at once, and one seller's payouts
 * strictly one after another in the order their events arrived (the partition key is
 * shop_user_id, so a seller's payouts all come through one lane). Different sellers overlap, so
 * a slow call holds one slot, not the partition.
 *
 * A slot is held for the gateway call only. The final state is then written by the finalizer,
 * which commits in hand-in order (so a seller's final states keep their order too), while the
 * slot already serves the next call: the calls do not wait in lock-step for each transaction.
 * Payouts waiting for their turn, calling, or waiting for their final state all count in `size`,
 * which bounds how much one partition holds in memory.
 *
 * Payouts enter with a gate, the promise of the transaction that TRIED them: a payout is called
 * only once that transaction committed (it is durably SUBMITTED), and dropped if it rolled back
 * (the runtime retries or redelivers the records, which TRY them again).
 *
 * `run` must not throw; it turns every failure into a deferral to the delay queue.
 */
export class PaymentLane {
  private active = 0;
  private waiting = 0;
  private readonly slots: Array<() => void> = [];
  /** Per seller, the promise that its latest payout's call is over. */
  private readonly tails = new Map<string, Promise<void>>();
  private readonly finalizing = new Set<Promise<void>>();
  private readonly listeners = new Set<() => void>();
  private closed = false;

  constructor(
    private readonly maxInFlight: number,
    private readonly run: (p: SubmittedPayout) => Promise<AttemptTail>,
  ) {}

  /** Payouts accepted and not final: queued behind their seller or a slot, calling, or finalising. */
  get size(): number {
    return this.waiting + this.active + this.finalizing.size;
  }

  enqueue(payouts: SubmittedPayout[], gate: Promise<unknown>): void {
    for (const p of payouts) {
      const key = p.shopUserId.toString();
      const before = this.tails.get(key) ?? Promise.resolve();
      this.waiting++;
      const called = this.callAfter(p, gate, before);
      const tail = called.then(() => undefined);
      this.tails.set(key, tail);
      void called.then(({ finalized }) => {
        if (this.tails.get(key) === tail) this.tails.delete(key);
        if (finalized) {
          this.finalizing.add(finalized);
          void finalized.finally(() => {
            this.finalizing.delete(finalized);
            this.notify();
          });
        }
        this.notify();
      });
    }
  }

  /** Resolves once fewer than `n` payouts are in the lane, or after `maxWaitMs`; true if below. */
  async below(n: number, maxWaitMs: number): Promise<boolean> {
    const deadline = Date.now() + maxWaitMs;
    while (this.size >= n) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(wake, left);
        const listeners = this.listeners;
        function wake() {
          clearTimeout(timer);
          listeners.delete(wake);
          resolve();
        }
        listeners.add(wake);
      });
    }
    return true;
  }

  /** Starts no new call; payouts not yet called stay SUBMITTED for the compensator. Then drains. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.slots.length > 0) this.slots.shift()!();
    await this.drain();
  }

  /** Resolves when every payout handed in so far has been called and finalised. */
  async drain(): Promise<void> {
    while (this.tails.size > 0 || this.finalizing.size > 0)
      await Promise.all([...this.tails.values(), ...this.finalizing]);
  }

  /** Never rejects. */
  private async callAfter(
    p: SubmittedPayout,
    gate: Promise<unknown>,
    before: Promise<void>,
  ): Promise<AttemptTail> {
    try {
      await gate;
      await before;
    } catch {
      this.waiting--;
      return {};
    }
    await this.acquire();
    this.waiting--;
    try {
      return this.closed ? {} : await this.run(p);
    } catch {
      // run() defers on every failure; anything left is already logged there.
      return {};
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.active < this.maxInFlight) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.slots.push(() => (this.active++, resolve())));
  }

  private release(): void {
    this.active--;
    this.slots.shift()?.();
  }

  private notify(): void {
    for (const wake of [...this.listeners]) wake();
  }
}
