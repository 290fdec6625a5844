import type { Knex } from '../../runtime/db/knex';
import { NotFoundError } from '../../runtime/errors';
import { PayoutActionRefusedError } from './payout-action-errors';
import type { SnowflakeGenerator } from '../../runtime/ids/snowflake';
import { formatMoney } from '../../runtime/money/money-text';
import { outboxTopic, type OutboxWriter } from '../../runtime/outbox/outbox-writer';
import { returnPayouts } from '../../runtime/payment-ledger/payout-return';
import { currentPayees, type PayeeAccount } from '../../runtime/payees/payee-registry';
import type { PayoutRail } from '../../runtime/payouts/payout-rails';
import { PAYOUTS, type PayoutEvent } from '../../contracts/payout';
import { PAYOUT_RESULTS, payoutResultMessage, type PayoutResult } from '../../contracts/payout-result';
import { MIN_PAYOUT_MINOR } from '../../settlement/cycle-close/payout-policy';

/**
 * What an operator does with a payout the close held (settlement/cycle-close/payout-policy.ts):
 *
 * - release: the payout becomes PENDING, made to the seller's payee account as it is now (frozen
 *   again), and a PENDING payout event goes out through the outbox, so its rail pays it like any
 *   other. Refused while the seller has no payee account, for a debt or an amount below the
 *   minimum transfer (cancel those), and, when `fourEyes` is set (the ops API), when the operator
 *   releasing it is the one who last changed the payee account: a changed account and its first
 *   payout need two people.
 * - cancel: the payout becomes CANCELLED and its amount returns to the seller's balance in the
 *   open cycle (runtime/payment-ledger/payout-return.ts), as a refused payout's does; a FAILED
 *   result with failure code CANCELLED tells downstream teams it will not be paid.
 *
 * Each runs in one transaction with the payout row locked, so two operators acting at once
 * serialise and the second is refused with the state the first left. Only an ON_HOLD payout is
 * released or cancelled, and never one held for CARRY_LIMIT: that is a debt too large to carry,
 * which needs a person to settle it outside the pipeline.
 */
export interface PayoutView {
  id: bigint;
  cycleId: bigint;
  region: string;
  shopUserId: bigint;
  currency: string;
  amountMinor: bigint;
  status: string;
  rail: PayoutRail;
  holdReason: string | null;
  payeeAccountId: bigint | null;
  holdDecidedBy: string | null;
  holdDecidedAt: Date | null;
  createdAt: Date;
}

export interface Operator {
  /** `api:<token name>` or `cli:<user>`, as the audit log and payee_account.changed_by name it. */
  name: string;
  /** Refuse a release by the operator who last changed the payee account. */
  fourEyes: boolean;
}

export interface HoldDeps {
  db: Knex;
  outbox: OutboxWriter;
  payoutsTopic?: string;
  resultsTopic?: string;
}

interface Row {
  id: string;
  cycle_id: string;
  region: string;
  shop_user_id: string;
  currency: string;
  amount_minor: string;
  status: string;
  rail: PayoutRail;
  hold_reason: string | null;
  payee_account_id: string | null;
  hold_decided_by: string | null;
  hold_decided_at: Date | null;
  created_at: Date;
}

const COLUMNS = `CAST(id AS CHAR) AS id, CAST(cycle_id AS CHAR) AS cycle_id, region, CAST(shop_user_id AS CHAR) AS shop_user_id, currency,
  CAST(amount_minor AS CHAR) AS amount_minor, status, rail, hold_reason, CAST(payee_account_id AS CHAR) AS payee_account_id,
  hold_decided_by, hold_decided_at, created_at`;

const view = (r: Row): PayoutView => ({
  id: BigInt(r.id),
  cycleId: BigInt(r.cycle_id),
  region: r.region,
  shopUserId: BigInt(r.shop_user_id),
  currency: r.currency,
  amountMinor: BigInt(r.amount_minor),
  status: r.status,
  rail: r.rail,
  holdReason: r.hold_reason,
  payeeAccountId: r.payee_account_id === null ? null : BigInt(r.payee_account_id),
  holdDecidedBy: r.hold_decided_by,
  holdDecidedAt: r.hold_decided_at,
  createdAt: r.created_at,
});

export interface PayoutQuery {
  status?: string;
  region?: string;
  cycleId?: bigint;
  afterId?: bigint;
  limit: number;
}

/** Payouts in id order, a page at a time; `sts payouts list --status ON_HOLD` lists the held. */
export async function listPayouts(db: Knex, q: PayoutQuery): Promise<PayoutView[]> {
  const where = ['id > ?'];
  const args: unknown[] = [q.afterId ?? 0n];
  if (q.status) {
    where.push('status = ?');
    args.push(q.status);
  }
  if (q.region) {
    where.push('region = ?');
    args.push(q.region);
  }
  if (q.cycleId !== undefined) {
    where.push('cycle_id = ?');
    args.push(q.cycleId);
  }
  const [rows] = (await db.raw(`SELECT ${COLUMNS} FROM payout WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`, [...args, q.limit] as unknown as string[])) as [Row[]];
  return rows.map(view);
}

export async function getPayout(db: Knex, id: bigint): Promise<PayoutView | undefined> {
  const [rows] = (await db.raw(`SELECT ${COLUMNS} FROM payout WHERE id = ?`, [id] as unknown as string[])) as [Row[]];
  return rows[0] ? view(rows[0]) : undefined;
}

export interface ReleaseResult {
  payout: PayoutView;
  payee: PayeeAccount;
}

export async function releasePayout(deps: HoldDeps, id: bigint, by: Operator): Promise<ReleaseResult> {
  return deps.db.transaction(async (trx) => {
    const p = await lockedHeld(trx, id, 'release');
    const min = MIN_PAYOUT_MINOR[p.currency] ?? 1n;
    if (p.amountMinor < min)
      throw new PayoutActionRefusedError(id, `${formatMoney(p.amountMinor, p.currency)} is below the minimum transfer of ${formatMoney(min, p.currency)}`, `cancel it instead (sts payouts cancel ${id}): its amount returns to the seller's balance`);
    const payee = (await currentPayees(trx, p.currency, p.shopUserId, p.shopUserId)).get(p.shopUserId);
    if (!payee)
      throw new PayoutActionRefusedError(id, `seller ${p.shopUserId} has no payee account for ${p.currency}`, `register one first: sts payees set --seller ${p.shopUserId} --currency ${p.currency} ...`);
    if (by.fourEyes && payee.changedBy === by.name)
      throw new PayoutActionRefusedError(id, `${by.name} changed the payee account (version ${payee.version}), so another operator must release its payout`, 'ask a second operator to check the account and release it');
    const now = new Date();
    await trx('payout')
      .where({ id: id.toString(), status: 'ON_HOLD' })
      .update({ status: 'PENDING', hold_decided_by: by.name.slice(0, 64), hold_decided_at: now, payee_account_id: payee.id.toString(), updated_at: now });
    const to = deps.payoutsTopic === undefined ? PAYOUTS : outboxTopic<PayoutEvent>(deps.payoutsTopic);
    await deps.outbox.add(trx, to, [
      {
        key: p.shopUserId.toString(),
        eventId: `payout-released:${id}`,
        value: {
          event_id: `payout-released:${id}`,
          payout_id: id,
          cycle_id: p.cycleId,
          region: p.region,
          shop_user_id: p.shopUserId,
          currency: p.currency,
          amount_minor: p.amountMinor,
          status: 'PENDING',
          rail: p.rail,
          hold_reason: null,
          created_at: now,
        },
      },
    ]);
    return { payout: { ...p, status: 'PENDING', holdReason: p.holdReason, payeeAccountId: payee.id, holdDecidedBy: by.name, holdDecidedAt: now }, payee };
  });
}

/** `ids` mint the billing item that returns the amount. */
export async function cancelPayout(deps: HoldDeps & { ids: SnowflakeGenerator }, id: bigint, by: Operator): Promise<PayoutView> {
  const { ids } = deps;
  return deps.db.transaction(async (trx) => {
    const p = await lockedHeld(trx, id, 'cancel');
    const now = new Date();
    await trx('payout')
      .where({ id: id.toString(), status: 'ON_HOLD' })
      .update({ status: 'CANCELLED', failure_code: 'CANCELLED', hold_decided_by: by.name.slice(0, 64), hold_decided_at: now, decided_at: now, updated_at: now });
    await returnPayouts(trx, ids, [{ payoutId: id, region: p.region, shopUserId: p.shopUserId, currency: p.currency, amountMinor: p.amountMinor, cycleId: p.cycleId, cancelledInLedger: false, why: `cancelled by ${by.name}` }], now);
    const to = deps.resultsTopic === undefined ? PAYOUT_RESULTS : outboxTopic<PayoutResult>(deps.resultsTopic);
    await deps.outbox.add(trx, to, [payoutResultMessage({ payoutId: id, ...p }, { status: 'FAILED', reference: null, failureCode: 'CANCELLED' }, now)]);
    return { ...p, status: 'CANCELLED', holdDecidedBy: by.name, holdDecidedAt: now };
  });
}

async function lockedHeld(trx: Knex.Transaction, id: bigint, action: 'release' | 'cancel'): Promise<PayoutView> {
  const [rows] = (await trx.raw(`SELECT ${COLUMNS} FROM payout WHERE id = ? FOR UPDATE`, [id] as unknown as string[])) as [Row[]];
  if (!rows[0]) throw new NotFoundError('payout', id.toString());
  const p = view(rows[0]);
  if (p.status !== 'ON_HOLD')
    throw new PayoutActionRefusedError(id, `it is ${p.status}; only an ON_HOLD payout can be ${action === 'release' ? 'released' : 'cancelled'}`, 'list the held payouts with `sts payouts list --status ON_HOLD`');
  if (p.holdReason === 'CARRY_LIMIT')
    throw new PayoutActionRefusedError(id, 'it holds a debt too large to carry into the next cycle', "settle the seller's debt outside the pipeline; the payout stays ON_HOLD as its record");
  // A cancelled payout's amount returns to the balance; a debt returned would be a carry-forward
  // made by hand, which the close already declined for this seller.
  if (action === 'cancel' && p.amountMinor <= 0n)
    throw new PayoutActionRefusedError(id, `its amount ${formatMoney(p.amountMinor, p.currency)} is not positive`, 'a held debt stays as it is until the seller is released from hold');
  return p;
}
