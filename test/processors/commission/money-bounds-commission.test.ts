import { cycleIdFor } from '../../../runtime/billing/cycle-calendar';
import { DEFAULT_MONEY_BOUNDS, INT64_MAX } from '../../../runtime/money/money-bounds';
import { DLQ_HEADERS } from '../../../runtime/processor/dlq-publisher';
import { addRule } from '../../../processors/commission/rule-store';
import { useTestResources } from '../../fixtures/resources';
import { ORDER_BASE, SELLER, balanceOf, commissionItems, commissionSetup, drain, produce, readDlq, request } from '../../fixtures/commission-setup';

/**
 * Money bounds on the commission path, through the real processor: a fee line that would take its
 * seller past the payout bound is refused by the ledger and its request dead-lettered alone, with
 * the reason; refunds of one order whose running sum would pass int64 are refused the same way.
 * Everything else in the batches applies.
 */
const r = useTestResources();
const FROM = new Date('2026-01-01T00:00:00Z');
const AT = new Date('2026-03-04T05:00:00Z');
const OTHER = SELLER + 100n;

test('a commission line past the payout bound, and refunds adding up past int64, each dead-letter their one request with the reason', async () => {
  const env = await commissionSetup(r);
  await addRule(env.db, { region: 'SG', category: '*', rateBps: 500, effectiveFrom: FROM }, 'test');
  // The seller already owes nearly the payout bound in the cycle the requests book into.
  const start = -DEFAULT_MONEY_BOUNDS.maxPayoutMinor + 10n;
  await env.db('settlement_account').insert({ region: 'SG', shop_user_id: SELLER.toString(), currency: 'SGD', cycle_id: cycleIdFor('SG', AT).toString(), balance_minor: start.toString(), item_count: 1 });

  await produce(r, env, [
    request({ request_id: 'evt-fits', order_id: ORDER_BASE + 1n, amount_minor: 100n, occurred_at: AT }),
    request({ request_id: 'evt-over', order_id: ORDER_BASE + 2n, amount_minor: 10_000n, occurred_at: AT }),
    request({ request_id: 'evt-other', order_id: ORDER_BASE + 3n, shop_user_id: OTHER, amount_minor: 10_000n, occurred_at: AT }),
  ]);
  await drain(r, env);
  expect((await commissionItems(env.db)).map((i) => [i.source_ref, i.amount_minor])).toEqual([
    ['evt-fits:FEE', '-5'],
    ['evt-other:FEE', '-500'],
  ]);
  expect(await balanceOf(env.db, SELLER)).toBe(start - 5n);
  expect(await balanceOf(env.db, OTHER)).toBe(-500n);
  let letters = await readDlq(r, env.dlq, 1);
  expect(letters.map((m) => [m.headers?.[DLQ_HEADERS.code]?.toString(), m.headers?.[DLQ_HEADERS.offset]?.toString()])).toEqual([['STS_VALIDATION_FAILED', '1']]);
  expect(letters[0]!.headers?.[DLQ_HEADERS.message]?.toString()).toContain('commission line evt-over:FEE refused (BALANCE_LIMIT)');

  // Refunds of evt-other's order have (by hand, as after a flood of them) nearly reached int64.
  await env.db('commission_charge').where({ region: 'SG', order_id: (ORDER_BASE + 3n).toString() }).update({ refunded_minor: (INT64_MAX - 5n).toString() });
  await produce(r, env, [
    request({ request_id: 'evt-refund-over', kind: 'CLAWBACK', order_id: ORDER_BASE + 3n, shop_user_id: OTHER, amount_minor: 10n, occurred_at: AT }),
    request({ request_id: 'evt-refund-ok', kind: 'CLAWBACK', order_id: ORDER_BASE + 1n, amount_minor: 100n, occurred_at: AT }),
  ]);
  await drain(r, env);
  letters = await readDlq(r, env.dlq, 2);
  expect(letters).toHaveLength(2);
  expect(letters[1]!.headers?.[DLQ_HEADERS.code]?.toString()).toBe('STS_VALIDATION_FAILED');
  expect(letters[1]!.headers?.[DLQ_HEADERS.message]?.toString()).toContain('past a signed 64-bit integer');
  expect((await commissionItems(env.db)).map((i) => i.source_ref)).toEqual(['evt-fits:FEE', 'evt-other:FEE', 'evt-refund-ok:FEE_CLAWBACK']);
  expect(await balanceOf(env.db, SELLER)).toBe(start);
  const charge = (await env.db('commission_charge').where({ region: 'SG', order_id: (ORDER_BASE + 3n).toString() }).first('refunded_minor')) as { refunded_minor: string };
  expect(charge.refunded_minor).toBe((INT64_MAX - 5n).toString());
}, 180_000);
