import type { PayoutEvent } from '../../../contracts/payout';
import { outboxTopic } from '../../../runtime/outbox/outbox-writer';
import { appendBillingItems } from '../../../runtime/billing/billing-ledger';
import { formatMoneyText } from '../../../runtime/money/money-text';
import { listFindings } from '../../../services/recon/finding-store';
import type { ReconRunner } from '../../../services/recon/recon-runner';
import { useGatewayHarness } from '../../fixtures/gateway-harness';
import { useTestResources } from '../../fixtures/resources';
import { keysOf, reconDataset, SELLERS, type ReconDataset } from '../../fixtures/recon-dataset';

/**
 * Reconciliation verifies by results (docs/DESIGN.md, lesson 10): a clean history has no findings;
 * each rule is then shown one corruption of exactly the kind it exists for, and must report exactly
 * that, keep it across runs with its first_seen, and resolve it once the fix or the undo lands.
 */
const r = useTestResources();
const gw = useGatewayHarness();
let ds: ReconDataset;
let runner: ReconRunner;
let simUrl: string;

beforeAll(async () => {
  const sim = await gw.spawn(gw.tempDir());
  simUrl = sim.url;
  ds = await reconDataset(r, simUrl);
  runner = ds.runner();
}, 180_000);

const sql = (q: string, b: unknown[] = []) => ds.db.raw(q, b as never[]);
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

/** Two runs report exactly `expected`, the second keeping first_seen; returns the finding. */
async function expectKept(expected: string[]) {
  const first = await runner.run();
  expect(first.rules.filter((x) => !x.ok)).toEqual([]);
  expect(keysOf(first.open)).toEqual([...expected].sort());
  await sleep(20);
  const second = await runner.run();
  expect(keysOf(second.open)).toEqual([...expected].sort());
  for (const f of second.open) {
    const before = first.open.find((x) => x.rule === f.rule && x.entity === f.entity)!;
    expect(f.firstSeen).toEqual(before.firstSeen);
    expect(f.lastSeen.getTime()).toBeGreaterThan(before.lastSeen.getTime());
  }
  return second.open;
}

async function expectResolved(expected: string[]) {
  const after = await runner.run();
  expect(keysOf(after.open)).toEqual([]);
  const all = await listFindings(ds.db, { all: true });
  for (const key of expected)
    expect(all.find((f) => `${f.rule} ${f.entity}` === key)?.resolvedAt).toBeInstanceOf(Date);
}

describe('reconciliation rules', () => {
  test('a clean history produces no findings, and every rule runs', async () => {
    const result = await runner.run();
    expect(result.rules.map((x) => [x.rule, x.ok])).toEqual(runner.ruleNames.map((n) => [n, true]));
    expect(keysOf(result.open)).toEqual([]);
    expect(result.critical).toBe(0);
    // What the clean run had to get right: a carry-forward, payouts paid through the gateway, one
    // still in flight in the ledger, just-closed PENDING payouts, every event relayed.
    const [counts] = await sql(
      `SELECT status, COUNT(*) AS n FROM payout GROUP BY status ORDER BY status`,
    );
    expect(
      Object.fromEntries(
        (counts as Array<{ status: string; n: number }>).map((c) => [c.status, Number(c.n)]),
      ),
    ).toEqual({ CARRIED_FORWARD: 1, PAID: 12, PENDING: 3, SUBMITTED: 1 });
    const [[carry]] = await sql(
      `SELECT source_ref, CAST(amount_minor AS CHAR) AS a, CAST(cycle_id AS CHAR) AS c FROM billing_item WHERE source = 'CARRY_FORWARD'`,
    );
    expect(carry).toEqual({
      source_ref: `${ds.cycles[3]}:${SELLERS[3]}:SGD`,
      a: '50',
      c: String(ds.cycles[2]),
    });
    const [[pending]] = await sql('SELECT COUNT(*) AS n FROM outbox WHERE published_at IS NULL');
    expect(Number(pending.n)).toBe(0);
  });

  test('closed-cycle-balance: one billing item edited after the close', async () => {
    const c1 = ds.cycles[1]!;
    const [[target]] = await sql(
      `SELECT CAST(id AS CHAR) AS id FROM billing_item WHERE region = 'SG' AND cycle_id = ? AND shop_user_id = ? ORDER BY id LIMIT 1`,
      [c1, SELLERS[1]],
    );
    await sql('UPDATE billing_item SET amount_minor = amount_minor + 7 WHERE id = ?', [
      BigInt(target.id),
    ]);
    const key = `closed-cycle-balance SG/${c1}/${SELLERS[1]}/SGD`;
    const [f] = await expectKept([key]);
    expect(f!.severity).toBe('CRITICAL');
    // People read the detail: both amounts in major units ("SGD 2,353.79"), never minor units.
    const [[sums]] = await sql(
      `SELECT CAST(SUM(i.amount_minor) AS CHAR) AS items, COUNT(*) AS n, CAST(p.id AS CHAR) AS payout, CAST(p.amount_minor AS CHAR) AS paid
         FROM billing_item i JOIN payout p ON p.region = i.region AND p.cycle_id = i.cycle_id AND p.shop_user_id = i.shop_user_id AND p.currency = i.currency
        WHERE i.region = 'SG' AND i.cycle_id = ? AND i.shop_user_id = ? AND i.currency = 'SGD' GROUP BY p.id, p.amount_minor`,
      [c1, SELLERS[1]],
    );
    expect(f!.detail).toBe(
      `items sum to ${formatMoneyText(sums.items, 'SGD')} (${sums.n} items) but payout ${sums.payout} is ${formatMoneyText(sums.paid, 'SGD')}`,
    );
    expect(f!.detail).toMatch(/^items sum to SGD \d{1,3}(,\d{3})*\.\d{2} \(\d+ items\) but payout \d{18} is SGD \d{1,3}(,\d{3})*\.\d{2}$/);
    await sql('UPDATE billing_item SET amount_minor = amount_minor - 7 WHERE id = ?', [
      BigInt(target.id),
    ]);
    await expectResolved([key]);
  });

  test('open-cycle-account: a bumped balance is found, and resync-account repairs it', async () => {
    const c0 = ds.cycles[0]!;
    const where = `region = 'SG' AND shop_user_id = ? AND currency = 'SGD' AND cycle_id = ?`;
    const [[before]] = await sql(
      `SELECT CAST(balance_minor AS CHAR) AS b FROM settlement_account WHERE ${where}`,
      [SELLERS[2], c0],
    );
    await sql(`UPDATE settlement_account SET balance_minor = balance_minor + 100 WHERE ${where}`, [
      SELLERS[2],
      c0,
    ]);
    const entity = `SG/${c0}/${SELLERS[2]}/SGD`;
    const [f] = await expectKept([`open-cycle-account ${entity}`]);
    expect(f!.fix).toBe('resync-account');

    const fixed = await runner.fix('open-cycle-account', entity, { actor: 'test' });
    expect(fixed).toMatchObject({ fix: 'resync-account', resolved: true });
    expect(fixed.summary).toContain(`-> ${formatMoneyText(before.b, 'SGD')} from 1 items`);
    const [[after]] = await sql(
      `SELECT CAST(balance_minor AS CHAR) AS b, item_count FROM settlement_account WHERE ${where}`,
      [SELLERS[2], c0],
    );
    expect(after).toMatchObject({ b: before.b });
    await expectResolved([`open-cycle-account ${entity}`]);
  });

  test('duplicates: an order counted twice under another source_ref', async () => {
    const c0 = ds.cycles[0]!;
    const [[orig]] = await sql(
      `SELECT CAST(order_id AS CHAR) AS o, CAST(amount_minor AS CHAR) AS a FROM billing_item WHERE cycle_id = ? AND item_type = 'ORDER_INCOME' AND shop_user_id = ? LIMIT 1`,
      [c0, SELLERS[0]],
    );
    const dupId = ds.ids.next();
    // Upstream re-sent the completion under a new event id: the ledger takes it (another key) and
    // keeps the balance consistent, so only the order rule can see it.
    await ds.db.transaction((trx) =>
      appendBillingItems(trx, [
        {
          id: dupId,
          region: 'SG',
          shopUserId: SELLERS[0],
          currency: 'SGD',
          amountMinor: BigInt(orig.a),
          itemType: 'ORDER_INCOME',
          source: 'ORDER',
          sourceRef: 'evt-resent-652024209997893632',
          orderId: BigInt(orig.o),
          cycleId: c0,
        },
      ]),
    );
    const key = `duplicates SG/order/${orig.o}`;
    const [f] = await expectKept([key]);
    expect(f!.detail).toContain('ORDER:evt-resent-652024209997893632');
    await ds.db.transaction(async (trx) => {
      await trx.raw('DELETE FROM billing_item WHERE id = ?', [dupId as never]);
      await trx.raw(
        `UPDATE settlement_account SET balance_minor = balance_minor - ?, item_count = item_count - 1 WHERE region = 'SG' AND shop_user_id = ? AND currency = 'SGD' AND cycle_id = ?`,
        [BigInt(orig.a), SELLERS[0], c0] as never[],
      );
    });
    await expectResolved([key]);
  });

  test('duplicates: an id minted twice (a billing item id reused by an upload)', async () => {
    const [[it]] = await sql(
      `SELECT CAST(id AS CHAR) AS id FROM billing_item WHERE cycle_id = ? LIMIT 1`,
      [ds.cycles[0]],
    );
    await ds
      .db('upload')
      .insert({
        id: it.id,
        file_name: 'x.csv',
        sha256: 'b'.repeat(64),
        size_bytes: 1,
        stored_path: 'x',
        status: 'FAILED',
        created_by: 'test',
      });
    const key = `duplicates id/${it.id}`;
    await expectKept([key]);
    await ds.db('upload').where({ id: it.id }).delete();
    await expectResolved([key]);
  });

  test('payout-sla: a SUBMITTED payout aged past the SLA', async () => {
    const id = ds.submittedPayoutId;
    await sql('UPDATE payout SET created_at = ? WHERE id = ?', [
      new Date(Date.now() - 25 * 3_600_000),
      id,
    ]);
    const [[p]] = await sql('SELECT CAST(cycle_id AS CHAR) AS c FROM payout WHERE id = ?', [id]);
    const key = `payout-sla SG/${p.c}/payout/${id}`;
    const [f] = await expectKept([key]);
    expect(f!.detail).toMatch(/\(SGD [\d,]+\.\d{2}\) is still SUBMITTED after 25\.0 h/);
    await sql('UPDATE payout SET created_at = ? WHERE id = ?', [new Date(), id]);
    await expectResolved([key]);
  });

  test('gateway-report: the gateway paid another account than the one we froze', async () => {
    const [[p]] = await sql(
      `SELECT CAST(p.id AS CHAR) AS id, CAST(p.cycle_id AS CHAR) AS c, s.payee_account AS acc FROM payout p JOIN payout_submission s ON s.payout_id = p.id WHERE p.status = 'PAID' AND p.shop_user_id = ? ORDER BY p.id LIMIT 1`,
      [SELLERS[0]],
    );
    await sql('UPDATE payout_submission SET payee_account = ? WHERE payout_id = ?', [
      'ACC-SG-ELSEWHERE',
      BigInt(p.id),
    ]);
    const key = `gateway-report SG/${p.c}/payout/${p.id}`;
    const [f] = await expectKept([key]);
    expect(f!.detail).toContain(`account ${p.acc} (payout: ACC-SG-ELSEWHERE)`);
    await sql('UPDATE payout_submission SET payee_account = ? WHERE payout_id = ?', [
      p.acc,
      BigInt(p.id),
    ]);
    await expectResolved([key]);
  });

  test('payment-ledger: one fund_movement changed behind the running totals', async () => {
    const [[m]] = await sql(
      `SELECT CAST(tx_id AS CHAR) AS tx FROM fund_movement WHERE phase = 'CONFIRM' ORDER BY tx_id LIMIT 1`,
    );
    await sql(
      `UPDATE fund_movement SET amount_minor = amount_minor + 1 WHERE tx_id = ? AND phase = 'CONFIRM'`,
      [BigInt(m.tx)],
    );
    const key = 'payment-ledger ledger/SGD/movements';
    const [f] = await expectKept([key]);
    expect(f!.detail).toMatch(
      /PAYOUT_IN_FLIGHT totals debit SGD [\d,]+\.\d{2}, credit SGD [\d,]+\.\d{2} but movements debit SGD [\d,]+\.\d{2}, credit SGD [\d,]+\.\d{2}/,
    );
    await sql(
      `UPDATE fund_movement SET amount_minor = amount_minor - 1 WHERE tx_id = ? AND phase = 'CONFIRM'`,
      [BigInt(m.tx)],
    );
    await expectResolved([key]);
  });

  test('upload-counts: a COMPLETED upload whose counts no longer add up', async () => {
    await sql('UPDATE upload SET accepted_rows = accepted_rows + 1 WHERE id = ?', [ds.uploadId]);
    const key = `upload-counts upload/${ds.uploadId}`;
    const [f] = await expectKept([key]);
    expect(f!.detail).toContain('accepted 4 + rejected 1 + duplicate 1 = 6, not total 5');
    await sql('UPDATE upload SET accepted_rows = accepted_rows - 1 WHERE id = ?', [ds.uploadId]);
    await expectResolved([key]);
  });

  test('outbox-stuck: an old unpublished event, published by the republish-outbox fix', async () => {
    await ds.outbox.add(ds.db, outboxTopic<PayoutEvent>(ds.payoutsTopic), [
      {
        key: SELLERS[0].toString(),
        eventId: 'payout-created:recon-stuck',
        value: {
          event_id: 'payout-created:recon-stuck',
          payout_id: 652024209997893632n,
          cycle_id: ds.cycles[0]!,
          region: 'SG',
          shop_user_id: SELLERS[0],
          currency: 'SGD',
          amount_minor: 1n,
          status: 'PENDING',
          rail: 'gateway',
          hold_reason: null,
          created_at: new Date(),
        },
      },
    ]);
    await sql(`UPDATE outbox SET created_at = ? WHERE event_id = 'payout-created:recon-stuck'`, [
      new Date(Date.now() - 5 * 60_000),
    ]);
    const entity = `outbox/${ds.payoutsTopic}`;
    const [f] = await expectKept([`outbox-stuck ${entity}`]);
    expect(f!.fix).toBe('republish-outbox');
    const fixed = await runner.fix('outbox-stuck', entity, { kafka: r.kafka, actor: 'test' });
    expect(fixed).toMatchObject({ fix: 'republish-outbox', resolved: true });
    expect(fixed.summary).toContain('published 1 outbox row');
    await expectResolved([`outbox-stuck ${entity}`]);
  });

  test('cycle-anomaly: the newest closed cycle pays 10x its history', async () => {
    const c1 = ds.cycles[1]!;
    const scale = async (op: '*' | 'DIV') => {
      await sql(
        `UPDATE billing_item SET amount_minor = amount_minor ${op} 10 WHERE region = 'SG' AND cycle_id = ?`,
        [c1],
      );
      await sql(
        `UPDATE payout SET amount_minor = amount_minor ${op} 10 WHERE region = 'SG' AND cycle_id = ?`,
        [c1],
      );
    };
    await scale('*');
    const keys = [`cycle-anomaly SG/${c1}/SGD/per-seller`, `cycle-anomaly SG/${c1}/SGD/total`];
    const found = await expectKept(keys);
    expect(found.every((f) => f.severity === 'WARNING')).toBe(true);
    expect(found.find((f) => f.entity.endsWith('/total'))!.detail).toMatch(
      /payout total SGD [\d,]+\.\d{2} is (9\.9|10\.\d)× the mean SGD [\d,]+\.\d{2} of the previous 4 closed cycle/,
    );
    await scale('DIV');
    await expectResolved(keys);
  });

  test('gateway-report: an execution that maps to no payout stays open across runs', async () => {
    const { GatewayClient } = await import('../../../runtime/gateway/gateway-client');
    const client = new GatewayClient({ baseUrl: simUrl });
    const stray = 652024209997899999n;
    const outcome = await client.submit(stray.toString(), {
      payoutId: stray,
      shopUserId: SELLERS[2],
      currency: 'SGD',
      amountMinor: 123_456n,
      account: 'ACC-UNKNOWN',
    });
    client.close();
    expect(outcome.kind).toBe('executed');
    const [f] = await expectKept([`gateway-report gateway/${stray}`]);
    expect(f!.severity).toBe('CRITICAL');
    expect(f!.detail).toContain(`(seller ${SELLERS[2]}, SGD 1,234.56, account ACC-UNKNOWN,`);
    expect(f!.detail).toContain('but no payout has that id');
  });
});
