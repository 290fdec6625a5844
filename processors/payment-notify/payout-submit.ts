import type { Knex } from '../../runtime/db/knex';
import { intList } from '../../runtime/db/int-list';
import { NotFoundError } from '../../runtime/errors';
import { PayoutMismatchError } from './payment-errors';
import { tccTry } from '../../runtime/payment-ledger/tcc-ledger';
import type { InputRecord } from '../../runtime/processor/definition';
import type { PayoutEvent } from '../../contracts/payout';

/**
 * The first step of paying: inside the batch's transaction, every PENDING payout of the batch is
 * TRIED in the ledger (its amount reserved: settlement -> in flight), frozen with the payee
 * account the gateway will see, and marked SUBMITTED. Once this commits, the payout belongs to
 * the gateway lane and, failing that, to the compensator; the batch's offsets may then move past it.
 * The payee is the account the payout was frozen to when it was made (payee_account); a payout
 * made before the payee registry existed is paid to the seller's id as its gateway reference.
 * Payouts of the bank-file rail are never paid here: they are skipped like a held payout.
 *
 * Idempotent per payout: the payout row is locked and only a PENDING one is tried, so a
 * redelivered event, or one for a payout that is ON_HOLD, CARRIED_FORWARD, SUBMITTED, PAID or
 * FAILED, changes nothing. An event that names no payout (STS_NOT_FOUND) or disagrees with its
 * row (STS_PAYOUT_MISMATCH) fails the batch; the runtime then isolates it into the DLQ.
 */

/** What a gateway call needs, as the database holds it. */
export interface SubmittedPayout {
  payoutId: bigint;
  shopUserId: bigint;
  region: string;
  currency: string;
  amountMinor: bigint;
  /** Frozen at submission: the gateway refuses the same Idempotency-Key with another body. */
  account: string;
}

interface PayoutRow {
  id: string;
  region: string;
  shop_user_id: string;
  currency: string;
  amount_minor: string;
  status: string;
  rail: string;
  /** The frozen payee account; null for a payout made before the payee registry. */
  payee_id: string | null;
}

export interface SubmitResult {
  submitted: SubmittedPayout[];
  /** Events whose payout is not PENDING (any more): nothing to do. */
  skipped: number;
}

export async function submitPayouts(
  trx: Knex.Transaction,
  records: Array<InputRecord<PayoutEvent>>,
): Promise<SubmitResult> {
  // First event per payout wins; a repeat inside one batch is a duplicate delivery.
  const events = new Map<bigint, InputRecord<PayoutEvent>>();
  let skipped = 0;
  for (const r of records) {
    if (r.value.status !== 'PENDING' || events.has(r.value.payout_id)) skipped++;
    else events.set(r.value.payout_id, r);
  }
  if (events.size === 0) return { submitted: [], skipped };

  const ids = [...events.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  // FOR UPDATE: two members briefly owning one partition during a rebalance must not both TRY it.
  const [rows] = (await trx.raw(
    `SELECT CAST(id AS CHAR) AS id, region, CAST(shop_user_id AS CHAR) AS shop_user_id, currency,
            CAST(amount_minor AS CHAR) AS amount_minor, status, rail, CAST(payee_account_id AS CHAR) AS payee_id
       FROM payout WHERE id IN (${intList(ids)}) ORDER BY id FOR UPDATE`,
  )) as [PayoutRow[]];
  const byId = new Map(rows.map((r) => [BigInt(r.id), r]));

  const fresh: Array<{ row: PayoutRow; record: InputRecord<PayoutEvent> }> = [];
  for (const id of ids) {
    const record = events.get(id)!;
    const row = byId.get(id);
    const where = { topic: record.topic, partition: record.partition, offset: record.offset };
    // The DLQ letter carries the record's coordinates; the error names the payout.
    if (!row) throw new NotFoundError('payout', id.toString());
    const e = record.value;
    const diffs: string[] = [];
    if (row.shop_user_id !== e.shop_user_id.toString())
      diffs.push(`shop_user_id ${e.shop_user_id} != ${row.shop_user_id}`);
    if (row.region !== e.region) diffs.push(`region ${e.region} != ${row.region}`);
    if (row.currency !== e.currency) diffs.push(`currency ${e.currency} != ${row.currency}`);
    if (row.amount_minor !== e.amount_minor.toString())
      diffs.push(`amount_minor ${e.amount_minor} != ${row.amount_minor}`);
    if (row.rail !== e.rail) diffs.push(`rail ${e.rail} != ${row.rail}`);
    if (diffs.length > 0) throw new PayoutMismatchError(id, diffs.join(', '), where);
    // Only the payout's own rail pays it: a bank-file payout is the bank rail's, whatever comes here.
    if (row.status === 'PENDING' && row.rail === 'gateway') fresh.push({ row, record });
    else skipped++;
  }
  if (fresh.length === 0) return { submitted: [], skipped };

  // Read after the payout locks, without locking: a version is never changed once written.
  const payeeIds = fresh.flatMap((f) => (f.row.payee_id === null ? [] : [BigInt(f.row.payee_id)]));
  const accounts = new Map<string, string>();
  if (payeeIds.length > 0) {
    const [found] = (await trx.raw(`SELECT CAST(id AS CHAR) AS id, account FROM payee_account WHERE id IN (${intList(new Set(payeeIds))})`)) as [Array<{ id: string; account: string }>];
    for (const a of found) accounts.set(a.id, a.account);
  }
  const submitted = fresh.map(({ row }): SubmittedPayout => ({
    payoutId: BigInt(row.id),
    shopUserId: BigInt(row.shop_user_id),
    region: row.region,
    currency: row.currency,
    amountMinor: BigInt(row.amount_minor),
    account: (row.payee_id !== null ? accounts.get(row.payee_id) : undefined) ?? row.shop_user_id,
  }));
  await trx('payout_submission').insert(
    fresh.map(({ row, record }, i) => ({
      payout_id: row.id,
      payee_account: submitted[i]!.account,
      source_topic: record.topic,
      source_partition: record.partition,
      source_offset: record.offset,
    })),
  );
  await trx.raw(
    `UPDATE payout SET status = 'SUBMITTED', attempts = attempts + 1, updated_at = NOW(3)
      WHERE id IN (${intList(submitted.map((s) => s.payoutId))}) AND status = 'PENDING'`,
  );
  // Last: the ledger rows are the hottest locks, held from here until COMMIT.
  await tccTry(
    trx,
    submitted.map((s) => ({ txId: s.payoutId, currency: s.currency, amountMinor: s.amountMinor })),
  );
  return { submitted, skipped };
}
