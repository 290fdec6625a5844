import type { Knex } from '../../runtime/db/knex';
import { CommissionChargeUnknownError, CommissionConflictError, CommissionRuleMissingError } from './commission-errors';
import type { BillingItemInput } from '../../runtime/billing/billing-ledger';
import type { CycleResolver } from '../../runtime/billing/cycle-resolver';
import type { ChargeRecord } from './charge-store';
import { affiliateCredit, computeClawback, computeFee } from './commission-calc';
import type { CommissionRequest } from '../../contracts/commission-request';
import { COMMISSION_SOURCE, ITEM_PARTS, commissionSourceRef, type ItemPart } from './commission-source-ref';
import { CommissionState } from './commission-state';

/**
 * Turns a batch of commission requests into their billing items, recording the charge or
 * clawback each stands for, inside the batch's transaction. The state is read up front and
 * written back in bulk (commission-state.ts); in between, requests are applied in offset order
 * in memory, so a CHARGE and a refund of the same order in one batch see each other.
 *
 * Exactly once: a CHARGE is recorded once per order (commission_charge) and a CLAWBACK once per
 * request (commission_clawback). A redelivered request finds its row and yields no items; a
 * request that disagrees with the row is a conflict (DLQ), never a second fee. The items' own
 * keys, `<request_id>:<part>` in billing_item's unique key, are the last line of defence.
 *
 * One request that cannot be applied fails the whole batch, which writes nothing: the runtime
 * then applies the records one per transaction, and only that one goes to the DLQ.
 *
 * Zero amounts (a 0 bps rule, a 0 affiliate share, a refund past the full fee) write no item:
 * the charge or clawback row still records the decision.
 */
export interface ItemDeps {
  resolver: CycleResolver;
  nextId: () => bigint;
}

export async function applyCommissionBatch(
  trx: Knex.Transaction,
  requests: readonly CommissionRequest[],
  deps: ItemDeps,
): Promise<BillingItemInput[]> {
  const state = await CommissionState.load(trx, requests);
  const items: BillingItemInput[] = [];
  for (const req of requests) {
    const made =
      req.kind === 'CHARGE' ? await charge(state, req, deps) : await clawback(state, req, deps);
    items.push(...made);
  }
  await state.save(trx);
  return items;
}

async function charge(
  state: CommissionState,
  req: CommissionRequest,
  deps: ItemDeps,
): Promise<BillingItemInput[]> {
  const ctx = { requestId: req.request_id, orderId: req.order_id.toString() };
  const prior = state.charge(req.region, req.order_id);
  if (prior) {
    const same =
      prior.requestId === req.request_id &&
      prior.shopUserId === req.shop_user_id &&
      prior.currency === req.currency &&
      prior.orderAmountMinor === req.amount_minor &&
      prior.affiliateUserId === req.affiliate_user_id;
    if (same) return []; // a redelivery: its items were committed with the charge row
    throw new CommissionConflictError(
      `order ${req.order_id} was already charged by request ${prior.requestId}; request ${req.request_id} disagrees or charges it again`,
      ctx,
    );
  }

  const rule = state.rule(req.region, req.category, req.occurred_at);
  if (!rule) throw new CommissionRuleMissingError(req.region, req.category, req.occurred_at, ctx);
  const feeMinor = computeFee(req.amount_minor, rule);
  const creditMinor =
    req.affiliate_user_id === null ? 0n : affiliateCredit(feeMinor, rule.affiliateShareBps);
  const record: ChargeRecord = {
    region: req.region,
    orderId: req.order_id,
    shopUserId: req.shop_user_id,
    affiliateUserId: req.affiliate_user_id,
    currency: req.currency,
    requestId: req.request_id,
    ruleId: rule.id,
    ruleVersion: rule.version,
    ruleCategory: rule.category,
    orderAmountMinor: req.amount_minor,
    feeMinor,
    affiliateCreditMinor: creditMinor,
    refundedMinor: 0n,
    feeClawedBackMinor: 0n,
    affiliateClawedBackMinor: 0n,
  };
  state.addCharge(record);

  const memo = `rule ${rule.region}/${rule.category} v${rule.version}: ${rule.rateBps} bps of ${req.amount_minor}`;
  const items: BillingItemInput[] = [];
  if (feeMinor > 0n) items.push(await item(req, deps, 'FEE', req.shop_user_id, -feeMinor, memo));
  if (creditMinor > 0n && req.affiliate_user_id !== null) {
    items.push(
      await item(
        req,
        deps,
        'AFFILIATE',
        req.affiliate_user_id,
        creditMinor,
        `${memo}, affiliate share ${rule.affiliateShareBps} bps`,
      ),
    );
  }
  return items;
}

async function clawback(
  state: CommissionState,
  req: CommissionRequest,
  deps: ItemDeps,
): Promise<BillingItemInput[]> {
  const ctx = { requestId: req.request_id, orderId: req.order_id.toString() };
  // Never guessed from today's rule: the fee to return depends on what the charge took. Its
  // running totals are the locked, latest ones (commission-state.ts), so no other consumer of
  // this order moves them under us.
  const charged = state.charge(req.region, req.order_id);
  if (!charged) throw new CommissionChargeUnknownError(req.region, req.order_id, ctx);
  if (charged.shopUserId !== req.shop_user_id || charged.currency !== req.currency) {
    throw new CommissionConflictError(
      `refund ${req.request_id} names seller ${req.shop_user_id} ${req.currency}, but order ${req.order_id} was charged to ${charged.shopUserId} ${charged.currency}`,
      ctx,
    );
  }
  // A refund event may omit the affiliate; the one credited at charge time is the one debited.
  // A refund naming a DIFFERENT affiliate is refused rather than guessed.
  if (req.affiliate_user_id !== null && req.affiliate_user_id !== charged.affiliateUserId) {
    throw new CommissionConflictError(
      `refund ${req.request_id} names affiliate ${req.affiliate_user_id}, but order ${req.order_id} credited ${charged.affiliateUserId ?? 'none'}`,
      ctx,
    );
  }

  const prior = state.clawback(req.region, req.request_id);
  if (prior) {
    if (prior.orderId === req.order_id && prior.refundAmountMinor === req.amount_minor) return []; // a redelivery
    throw new CommissionConflictError(
      `refund ${req.request_id} was already applied to order ${prior.orderId} for ${prior.refundAmountMinor}; it now says order ${req.order_id} for ${req.amount_minor}`,
      ctx,
    );
  }

  const cb = computeClawback(charged, req.amount_minor);
  state.addClawback(
    {
      region: req.region,
      requestId: req.request_id,
      orderId: req.order_id,
      refundAmountMinor: req.amount_minor,
      feeClawbackMinor: cb.feeMinor,
      affiliateClawbackMinor: cb.affiliateMinor,
    },
    {
      refundedMinor: cb.refundedAfterMinor,
      feeClawedBackMinor: charged.feeClawedBackMinor + cb.feeMinor,
      affiliateClawedBackMinor: charged.affiliateClawedBackMinor + cb.affiliateMinor,
    },
  );

  const memo = `refund ${req.amount_minor} of ${charged.orderAmountMinor}, charged under rule ${charged.region}/${charged.ruleCategory} v${charged.ruleVersion}`;
  const items: BillingItemInput[] = [];
  if (cb.feeMinor > 0n)
    items.push(await item(req, deps, 'FEE_CLAWBACK', charged.shopUserId, cb.feeMinor, memo));
  if (cb.affiliateMinor > 0n && charged.affiliateUserId !== null) {
    items.push(
      await item(
        req,
        deps,
        'AFFILIATE_CLAWBACK',
        charged.affiliateUserId,
        -cb.affiliateMinor,
        memo,
      ),
    );
  }
  return items;
}

async function item(
  req: CommissionRequest,
  deps: ItemDeps,
  part: ItemPart,
  shopUserId: bigint,
  amountMinor: bigint,
  memo: string,
): Promise<BillingItemInput> {
  // The cycle of the instant the order (or refund) happened; a closed one sends it to the next
  // open cycle, flagged late, so a cycle's payouts never change after its snapshot.
  const { cycleId, late } = await deps.resolver.resolve(req.region, req.occurred_at);
  return {
    id: deps.nextId(),
    region: req.region,
    shopUserId,
    currency: req.currency,
    amountMinor,
    itemType: ITEM_PARTS[part],
    source: COMMISSION_SOURCE,
    sourceRef: commissionSourceRef(req.request_id, part),
    orderId: req.order_id,
    cycleId,
    late,
    memo: memo.slice(0, 255),
  };
}
