import type { Knex } from '../../runtime/db/knex';
import { ValidationError } from '../../runtime/errors';
import { GatewayKeyConflictError, GatewayRequestInvalidError } from '../../runtime/gateway/gateway-errors';
import { PayoutUnresolvedError } from './payment-errors';
import type {
  GatewayClient,
  LookupOutcome,
  SubmitOutcome,
} from '../../runtime/gateway/gateway-client';
import type { IdempotencyStore } from '../../runtime/idempotency/idempotency-store';
import type { Logger } from '../../runtime/logger';
import { backoffDelay } from '../../runtime/processor/retry-policy';
import type { DelayQueue } from './delay-queue';
import type { Escalator } from './escalation';
import type { PaymentFinalizer } from './payment-finalizer';
import type { PaymentMetrics } from './payment-metrics';
import type { PaymentNotifyOptions } from './payment-options';
import type { SubmittedPayout } from './payout-submit';
import { decodeOutcome, encodeOutcome } from './stored-outcome';

/**
 * One attempt to drive a SUBMITTED payout to its final state, for the lane (first call) and the
 * compensator (every later check). The steps, and what each outcome does:
 *
 *   claim the Redis key `payout:<id>`            in-progress: someone else is calling; check later
 *     |                                          completed:   finalise from the stored answer
 *   lane: submit with Idempotency-Key = the payout id (decimal string)
 *   compensator: lookup by key; not-found means the gateway never executed it, so submit again
 *     |  with the SAME key and body (the gateway executes a key at most once)
 *   executed / rejected  -> store the answer under the key, then CONFIRM+PAID or CANCEL+FAILED
 *                           with the result event, in one transaction (payment-finalizer.ts)
 *   unknown (timeout, reset, 5xx, breaker open)  -> release the claim, back off in the delay queue;
 *                           after maxAttempts: escalate (alert + DLQ) and keep checking slowly
 *   malformed request (400/422)  -> escalate and stop checking: a retry cannot fix it
 *
 * Nothing here decides "not paid" on a guess: only the gateway's answer for the key finalises.
 */

export interface AttemptDeps {
  db: Knex;
  gateway: GatewayClient;
  idempotency: IdempotencyStore;
  queue: DelayQueue;
  finalizer: PaymentFinalizer;
  escalator: Escalator;
  metrics: PaymentMetrics;
  logger: Logger;
  options: PaymentNotifyOptions;
}

const FINAL = new Set(['PAID', 'FAILED']);

/** What is left of an attempt once the gateway answered: its finalisation, if any (never rejects). */
export interface AttemptTail {
  finalized?: Promise<void>;
}

export class PaymentAttempts {
  constructor(private readonly deps: AttemptDeps) {}

  /**
   * The lane's first call for a payout it just TRIED. Resolves once the gateway answered (so the
   * lane can free the call's slot) with the finalisation still running in `finalized`; the
   * finalizer commits in hand-in order, so a seller's final states keep their order. Never
   * throws: failures defer the payout.
   */
  async payFresh(p: SubmittedPayout): Promise<AttemptTail> {
    // No database fallback: this process TRIED the payout moments ago, so Redis lacking the key
    // means "nobody called yet"; if a compensator did finish it meanwhile, the gateway replays
    // its answer for the key and the finalizer sees the payout final (a no-op).
    return this.guard(p.payoutId, () => this.attempt(p, false));
  }

  /** The compensator's check of a queued payout, finalisation included. Never throws. */
  async recheck(payoutId: bigint): Promise<void> {
    const tail = await this.guard(payoutId, async () => {
      const p = await loadSubmitted(this.deps.db, payoutId);
      if (!p) {
        // Final, never submitted, or left to ops: nothing for the queue to do.
        await this.deps.queue.remove([payoutId]);
        return {};
      }
      return this.attempt(p, true);
    });
    await tail.finalized;
  }

  private async attempt(p: SubmittedPayout, lookupFirst: boolean): Promise<AttemptTail> {
    const { idempotency, gateway, options, queue } = this.deps;
    const key = p.payoutId.toString();
    const claim = await idempotency.claim(
      `payout:${key}`,
      options.claimTtlMs,
      lookupFirst ? () => payoutIsFinal(this.deps.db, p.payoutId) : undefined,
    );
    if (claim.status === 'in-progress') {
      await queue.schedule(p.payoutId, Date.now() + options.inProgressDelayMs);
      return {};
    }
    if (claim.status === 'completed') {
      const stored = claim.source === 'redis' ? decodeOutcome(claim.result) : undefined;
      if (stored) return { finalized: this.finalize(p, stored) };
      await queue.remove([p.payoutId]);
      return {};
    }
    let outcome: SubmitOutcome | LookupOutcome;
    try {
      outcome = lookupFirst ? await gateway.lookup(key) : await gateway.submit(key, toGateway(p));
      if (outcome.kind === 'not-found') outcome = await gateway.submit(key, toGateway(p));
    } catch (err) {
      await idempotency.release(`payout:${key}`, claim.token);
      if (
        err instanceof GatewayKeyConflictError ||
        err instanceof GatewayRequestInvalidError ||
        err instanceof ValidationError
      ) {
        await this.deps.escalator.escalate(
          p.payoutId,
          new PayoutUnresolvedError(p.payoutId, `the gateway refused the request: ${err.message}`, {
            gatewayCode: err.code,
          }),
          true,
        );
        await queue.remove([p.payoutId]);
        return {};
      }
      throw err;
    }
    if (outcome.kind === 'unknown') {
      await idempotency.release(`payout:${key}`, claim.token);
      await this.defer(p.payoutId, outcome.reason);
      return {};
    }
    await idempotency.complete(
      `payout:${key}`,
      claim.token,
      encodeOutcome(outcome),
      options.resultTtlMs,
    );
    return { finalized: this.finalize(p, outcome) };
  }

  private async finalize(
    p: SubmittedPayout,
    outcome: Parameters<PaymentFinalizer['finalize']>[1],
  ): Promise<void> {
    try {
      await this.deps.finalizer.finalize(p, outcome);
    } catch (err) {
      // The answer is stored under the key; the compensator finalises from it later.
      this.deps.logger.warn({ err, payoutId: p.payoutId }, 'final state not written; deferring');
      // If Redis is down too, the sweeper re-queues it from the database.
      await this.defer(p.payoutId, 'finalize-failed').catch(() => undefined);
    }
  }

  /** Back off in the delay queue; a breaker-open refusal sent nothing, so it is not an attempt. */
  private async defer(payoutId: bigint, reason: string): Promise<void> {
    const { queue, options, metrics } = this.deps;
    metrics.deferred.inc({ reason });
    const attempts =
      reason === 'breaker-open'
        ? await queue.attempts(payoutId)
        : await queue.countAttempt(payoutId);
    const delay = backoffDelay(Math.max(0, attempts - 1), {
      initialDelayMs: options.retryInitialDelayMs,
      maxDelayMs: options.retryMaxDelayMs,
    });
    await queue.schedule(payoutId, Date.now() + delay);
    if (attempts >= options.maxAttempts && reason !== 'breaker-open') {
      const err = new PayoutUnresolvedError(
        payoutId,
        `gateway outcome still unknown after ${attempts} attempts (last: ${reason})`,
        { attempts },
      );
      await this.deps.escalator.escalate(payoutId, err, false);
    }
  }

  /** Redis or database trouble: log, and make sure the payout is queued for a later check. */
  private async guard(payoutId: bigint, fn: () => Promise<AttemptTail>): Promise<AttemptTail> {
    try {
      return await fn();
    } catch (err) {
      this.deps.logger.warn(
        { err, payoutId },
        'payment attempt failed; the compensator retries it',
      );
      const due = Date.now() + this.deps.options.retryInitialDelayMs;
      // If Redis itself is down this fails too; the sweeper re-queues every SUBMITTED payout.
      await this.deps.queue.schedule(payoutId, due).catch(() => undefined);
      return {};
    }
  }
}

function toGateway(p: SubmittedPayout) {
  return {
    payoutId: p.payoutId,
    shopUserId: p.shopUserId,
    currency: p.currency,
    amountMinor: p.amountMinor,
    account: p.account,
  };
}

/** The claim fallback: Redis lost the key, so ask the system of record. */
async function payoutIsFinal(db: Knex, payoutId: bigint): Promise<'completed' | 'unknown'> {
  const [rows] = (await db.raw(`SELECT status FROM payout WHERE id = ${payoutId.toString()}`)) as [
    Array<{ status: string }>,
  ];
  return FINAL.has(rows[0]?.status ?? '') ? 'completed' : 'unknown';
}

/** The payout as submitted, if it is still SUBMITTED and not left to ops. */
async function loadSubmitted(db: Knex, payoutId: bigint): Promise<SubmittedPayout | undefined> {
  const [rows] = (await db.raw(
    `SELECT CAST(p.shop_user_id AS CHAR) AS shop_user_id, p.region, p.currency,
            CAST(p.amount_minor AS CHAR) AS amount_minor, s.payee_account
       FROM payout p JOIN payout_submission s ON s.payout_id = p.id
      WHERE p.id = ${payoutId.toString()} AND p.status = 'SUBMITTED' AND s.blocked = 0`,
  )) as [
    Array<{
      shop_user_id: string;
      region: string;
      currency: string;
      amount_minor: string;
      payee_account: string;
    }>,
  ];
  const r = rows[0];
  if (!r) return undefined;
  return {
    payoutId,
    shopUserId: BigInt(r.shop_user_id),
    region: r.region,
    currency: r.currency,
    amountMinor: BigInt(r.amount_minor),
    account: r.payee_account,
  };
}
