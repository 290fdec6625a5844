import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../../runtime/config';
import { appendBillingItems } from '../../../runtime/billing/billing-ledger';
import { cycleBounds, cycleIdFor } from '../../../runtime/billing/cycle-calendar';
import { ensureCycle } from '../../../runtime/billing/cycle-resolver';
import { OutboxWriter } from '../../../runtime/outbox/outbox-writer';
import { setPayee } from '../../../runtime/payees/payee-registry';
import { parsePayoutRails } from '../../../runtime/payouts/payout-rails';
import { valueSubject } from '../../../runtime/topology/types';
import { snapshotPayouts } from '../../../settlement/cycle-close/payout-snapshot';
import { syntheticPayee } from '../../../tools/demo/synthetic-payees';
import type { PayoutEvent } from '../../../contracts/payout';
import { useTestResources } from '../../fixtures/resources';
import { uploadSetup } from '../../fixtures/upload-harness';

/**
 * The close decides, per payout, its rail and whether it may go out: a payout is made to the
 * seller's registered payee account as it stands at the close (frozen), and held, with its reason,
 * when there is none, when the account changed within the cool-off, or when the seller is on hold.
 */
const r = useTestResources();
const SELLER = {
  paid: 652024209997810001n,
  noPayee: 652024209997810002n,
  changed: 652024209997810003n,
  changedLongAgo: 652024209997810004n,
  held: 652024209997810005n,
  small: 652024209997810006n,
};
const HOUR = 3_600_000;

test('payouts carry the rail of their region, freeze the payee version, and are held for NO_PAYEE_ACCOUNT, PAYEE_CHANGED and SELLER_HOLD', async () => {
  const s = await uploadSetup(r, 1);
  const payoutsTopic = await r.topic('payouts', 1);
  await s.registry.register(valueSubject(payoutsTopic), fs.readFileSync(path.join(PROJECT_ROOT, 'schemas', 'payout.avsc'), 'utf8'));
  const current = cycleIdFor('SG', new Date());
  const closing = cycleIdFor('SG', new Date(cycleBounds('SG', current).startsAt.getTime() - 1));
  await ensureCycle(s.db, 'SG', closing);
  await s.db.transaction((trx) =>
    appendBillingItems(
      trx,
      Object.values(SELLER).map((seller, i) => ({
        id: s.ids.next(),
        region: 'SG',
        shopUserId: seller,
        currency: 'SGD',
        amountMinor: seller === SELLER.small ? 50n : 10_000n + BigInt(i),
        itemType: 'ADJUSTMENT',
        source: 'TEST',
        sourceRef: `hold-${i}`,
        cycleId: closing,
      })),
    ),
  );
  const payee = (seller: bigint, account?: string) => setPayee(s.db, seller, syntheticPayee(seller, 'SGD', account), 'cli:alice');
  const paid = await payee(SELLER.paid);
  await payee(SELLER.changed, '111111');
  await payee(SELLER.changed, '222222');
  await payee(SELLER.changedLongAgo, '333333');
  const longAgo = await payee(SELLER.changedLongAgo, '444444');
  await s.db('payee_account').where({ id: longAgo.account.id.toString() }).update({ created_at: new Date(Date.now() - 73 * HOUR) });
  await payee(SELLER.held);
  await s.db('seller_hold').insert({ region: 'SG', shop_user_id: SELLER.held.toString(), reason: 'fraud review' });

  await s.db('settlement_cycle').where({ region: 'SG', cycle_id: closing.toString() }).update({ status: 'CLOSING' });
  const outbox = new OutboxWriter(s.codec, s.registry);
  await snapshotPayouts({ db: s.db, ids: s.ids, outbox, payoutsTopic, rails: parsePayoutRails('SG=bank-file'), payeeCooloffMs: 72 * HOUR }, 'SG', closing);

  const rows = (await s.db('payout').where({ cycle_id: closing.toString() }).select(s.db.raw('CAST(shop_user_id AS CHAR) AS seller'), 'status', 'rail', 'hold_reason', s.db.raw('CAST(payee_account_id AS CHAR) AS payee'))) as Array<{ seller: string; status: string; rail: string; hold_reason: string | null; payee: string | null }>;
  const by = new Map(rows.map((p) => [BigInt(p.seller), p]));
  expect(rows.every((p) => p.rail === 'bank-file')).toBe(true);
  expect(by.get(SELLER.paid)).toMatchObject({ status: 'PENDING', hold_reason: null, payee: paid.account.id.toString() });
  expect(by.get(SELLER.noPayee)).toMatchObject({ status: 'ON_HOLD', hold_reason: 'NO_PAYEE_ACCOUNT', payee: null });
  expect(by.get(SELLER.changed)).toMatchObject({ status: 'ON_HOLD', hold_reason: 'PAYEE_CHANGED' });
  expect(by.get(SELLER.changedLongAgo)).toMatchObject({ status: 'PENDING', hold_reason: null, payee: longAgo.account.id.toString() });
  expect(by.get(SELLER.held)).toMatchObject({ status: 'ON_HOLD', hold_reason: 'SELLER_HOLD' });
  // Below the minimum transfer: carried forward, whatever the payee.
  expect(by.get(SELLER.small)).toMatchObject({ status: 'CARRIED_FORWARD', hold_reason: null, payee: null });

  // The events carry the rail and the hold reason.
  const stored = (await s.db('outbox').where({ topic: payoutsTopic }).select('payload')) as Array<{ payload: Buffer }>;
  const events = await Promise.all(stored.map(async (o) => (await s.codec.decode<PayoutEvent>(o.payload)).value));
  expect(events.map((e) => [e.shop_user_id, e.status, e.rail, e.hold_reason]).sort((a, b) => (a[0]! < b[0]! ? -1 : 1))).toEqual(
    [...by.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([seller, p]) => [seller, p.status, 'bank-file', p.hold_reason]),
  );

  // A later change of the account never redirects the payout already made.
  await payee(SELLER.paid, '555555');
  const after = (await s.db('payout').where({ cycle_id: closing.toString(), shop_user_id: SELLER.paid.toString() }).first(s.db.raw('CAST(payee_account_id AS CHAR) AS payee'))) as { payee: string };
  expect(after.payee).toBe(paid.account.id.toString());
}, 120_000);
