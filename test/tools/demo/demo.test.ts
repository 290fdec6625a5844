import { runCli } from '../../fixtures/cli';
import { useTestResources } from '../../fixtures/resources';

describe('sts demo', () => {
  const r = useTestResources();

  it('carries one Avro order event through the broker and registry into one billing item and a balance', async () => {
    const { db, url } = await r.database();
    const res = await runCli(['demo', '--smoke', '--json'], { STS_MYSQL_URL: url }, 180_000);
    expect(res.code).toBe(0);
    const summary = JSON.parse(res.stdout) as Record<string, string>;

    const items = await db('billing_item').where({ source: 'ORDER', source_ref: summary.eventId });
    expect(items).toHaveLength(1);
    const item = items[0] as Record<string, string>;
    // 18-digit ids survive Avro, Kafka and MySQL exactly (docs/DESIGN.md, lesson 8).
    expect(item.shop_user_id).toBe('652024209997893632');
    expect(item.order_id).toBe(summary.orderId);
    expect(item.order_id).toMatch(/^\d{18}$/);
    expect(BigInt(item.id!)).toBeGreaterThan(0n);
    expect(item.amount_minor).toBe('12345');
    expect(item.item_type).toBe('ORDER_INCOME');

    const account = (await db('settlement_account').where({ region: 'SG', shop_user_id: '652024209997893632', cycle_id: item.cycle_id }).first()) as Record<string, string>;
    expect(BigInt(account.balance_minor!)).toBe(12345n);
  });
});
