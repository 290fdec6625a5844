import {
  CLOSED_CYCLE_DIFF_SQL,
  closedCycleDiffBindings,
} from '../../../services/recon/rules/closed-cycle-balance';
import { ORDER_TWICE_SQL, RECENT_ORDERS_SQL } from '../../../services/recon/rules/duplicates';
import {
  OPEN_CYCLE_DIFF_SQL,
  openCycleDiffBindings,
} from '../../../services/recon/rules/open-cycle-account';
import { LATE_PAYOUTS_SQL } from '../../../services/recon/rules/payout-sla';
import { STUCK_OUTBOX_SQL } from '../../../services/recon/rules/outbox-stuck';
import { idFloorAt } from '../../../services/recon/recon-sql';
import type { Knex } from '../../../runtime/db/knex';
import { useTestResources } from '../../fixtures/resources';

/**
 * docs/DESIGN.md, lesson 9: hot queries are proven to use their indexes. The two heaviest rules
 * each sum a whole cycle of billing items per seller; on a table of several regions and cycles,
 * EXPLAIN must show every billing_item access as an index range or lookup (ix_billing_item_cycle, a
 * key), never a full table scan (ALL) or a full index scan (index). The duplicate-order,
 * late-payout and stuck outbox queries are held to the same standard. Bindings are typed exactly as
 * the rules send them (bigint cycle ids), so an implicit string-to-BIGINT conversion would show
 * here too.
 */
const r = useTestResources();
let db: Knex;

const REGIONS = ['SG', 'MY', 'TH'] as const;
const CYCLES = [20261005n, 20261012n, 20261019n, 20261026n, 20261102n, 20261109n, 20261116n];
const SELLERS = 400;
/** EXPLAIN types that read through an index by key: one range, or a lookup per outer row. */
const INDEX_ACCESS = ['ref', 'eq_ref', 'range', 'index_subquery', 'unique_subquery'];

interface PlanRow {
  id: number;
  table: string;
  type: string;
  key: string | null;
  Extra: string | null;
}

async function explain(sql: string, bindings: unknown[]): Promise<PlanRow[]> {
  const [plan] = (await db.raw(`EXPLAIN ${sql}`, bindings as never[])) as [PlanRow[]];
  return plan;
}

/** The plan rows that read billing_item, whatever alias the statement gives it. */
function billingItemAccess(plan: PlanRow[], aliases: string[]): PlanRow[] {
  return plan.filter((p) => aliases.includes(p.table));
}

beforeAll(async () => {
  ({ db } = await r.database());
  // Ids as the generator mints them: each cycle's items a week apart, so only the newest cycle
  // lies inside the rules' recent window, as in production.
  const t0 = Date.now() - 3_600_000;
  const mintedAt = CYCLES.map((_, ci) =>
    idFloorAt(new Date(t0 - (CYCLES.length - 1 - ci) * 7 * 86_400_000)),
  );
  let seq = 0n;
  let id = 0n;
  let order = 7_100_000_000_000_000n;
  const rows: Array<Record<string, string | boolean>> = [];
  for (const region of REGIONS)
    for (const [ci, cycle] of CYCLES.entries())
      for (let s = 0; s < SELLERS; s++)
        for (let k = 0; k < 3; k++) {
          id = mintedAt[ci]! + seq++;
          order += 1n;
          rows.push({
            id: id.toString(),
            region,
            shop_user_id: (652024209990000000n + BigInt(s)).toString(),
            currency: 'SGD',
            amount_minor: String(1000 + k),
            item_type: k === 2 ? 'ADJUSTMENT' : 'ORDER_INCOME',
            source: 'ORDER',
            source_ref: `e-${id}`,
            order_id: order.toString(),
            cycle_id: cycle.toString(),
            late: false,
          });
        }
  for (let i = 0; i < rows.length; i += 2000)
    await db('billing_item').insert(rows.slice(i, i + 2000));
  const payouts = [];
  const accounts = [];
  id = idFloorAt(new Date()) + 1_000_000n;
  for (const region of REGIONS)
    for (const cycle of CYCLES)
      for (let s = 0; s < SELLERS; s++) {
        id += 1n;
        const shop = (652024209990000000n + BigInt(s)).toString();
        payouts.push({
          id: id.toString(),
          cycle_id: cycle.toString(),
          region,
          shop_user_id: shop,
          currency: 'SGD',
          amount_minor: '3003',
          status: s % 50 === 0 ? 'SUBMITTED' : 'PAID',
        });
        accounts.push({
          region,
          shop_user_id: shop,
          currency: 'SGD',
          cycle_id: cycle.toString(),
          balance_minor: '3003',
          item_count: 3,
        });
      }
  for (let i = 0; i < payouts.length; i += 2000)
    await db('payout').insert(payouts.slice(i, i + 2000));
  for (let i = 0; i < accounts.length; i += 2000)
    await db('settlement_account').insert(accounts.slice(i, i + 2000));
  await db.raw('ANALYZE TABLE billing_item, payout, settlement_account, outbox');
}, 120_000);

describe('reconciliation queries use their indexes', () => {
  test('closed-cycle-balance reads one cycle through ix_billing_item_cycle, never the whole table', async () => {
    const plan = await explain(
      CLOSED_CYCLE_DIFF_SQL,
      closedCycleDiffBindings('MY', 20261109n, 1001),
    );
    const access = billingItemAccess(plan, ['billing_item', 'b']);
    expect(access).toHaveLength(2);
    for (const a of access) {
      expect(INDEX_ACCESS).toContain(a.type);
      expect(a.key).toBe('ix_billing_item_cycle');
    }
    // The derived sum is covering: no row lookups into the clustered index.
    expect(access.find((a) => a.table === 'billing_item')!.Extra).toContain('Using index');
    for (const p of plan.filter((x) => x.table === 'p'))
      expect(['ref', 'eq_ref', 'range']).toContain(p.type);
  });

  test('open-cycle-account reads one cycle through ix_billing_item_cycle and accounts by key', async () => {
    const plan = await explain(OPEN_CYCLE_DIFF_SQL, openCycleDiffBindings('TH', 20261116n, 1001));
    const access = billingItemAccess(plan, ['billing_item', 'b']);
    expect(access).toHaveLength(2);
    for (const a of access) {
      expect(INDEX_ACCESS).toContain(a.type);
      expect(a.key).toBe('ix_billing_item_cycle');
    }
    for (const p of plan.filter((x) => x.table === 'a'))
      expect(['ref', 'eq_ref', 'range']).toContain(p.type);
  });

  test('duplicate orders: recent items by primary-key range, their orders through ix_billing_item_order', async () => {
    const floor = idFloorAt(new Date(Date.now() - 8 * 86_400_000));
    const plan = await explain(ORDER_TWICE_SQL(RECENT_ORDERS_SQL), [floor, 1001]);
    const access = billingItemAccess(plan, ['b', 'r']);
    expect(access.length).toBeGreaterThanOrEqual(2);
    for (const a of access) expect(INDEX_ACCESS).toContain(a.type);
    expect(access.find((a) => a.table === 'r')!.key).toBe('PRIMARY');
    expect(access.find((a) => a.table === 'b')!.key).toBe('ix_billing_item_order');
  });

  test('late payouts and stuck outbox rows are index ranges', async () => {
    const late = await explain(LATE_PAYOUTS_SQL, [new Date(Date.now() - 86_400_000), 1001]);
    expect(late[0]).toMatchObject({ table: 'payout', type: 'range' });
    expect(['ix_payout_status', 'ix_payout_status_id']).toContain(late[0]!.key);
    const outbox = await explain(STUCK_OUTBOX_SQL, [new Date(Date.now() - 60_000)]);
    expect(outbox[0]).toMatchObject({ table: 'outbox', key: 'ix_outbox_pending' });
    expect(['ref', 'range']).toContain(outbox[0]!.type);
  });
});
