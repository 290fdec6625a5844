import { useTestResources } from '../../fixtures/resources';
import { cycleBounds, nextCycleId } from '../../../runtime/billing/cycle-calendar';
import { CycleResolver } from '../../../runtime/billing/cycle-resolver';

const r = useTestResources();

describe('cycle bounds', () => {
  test('a Singapore cycle runs Monday 00:00 to Monday 00:00 at UTC+8', () => {
    const b = cycleBounds('SG', 20261116n);
    expect(b.startsAt.toISOString()).toBe('2026-11-15T16:00:00.000Z');
    expect(b.cutoffAt.toISOString()).toBe('2026-11-22T16:00:00.000Z');
    expect(nextCycleId('SG', 20261116n)).toBe(20261123n);
  });

  test('a Sao Paulo cycle rolls over the month and year in local time', () => {
    const b = cycleBounds('BR', 20261228n);
    expect(b.startsAt.toISOString()).toBe('2026-12-28T03:00:00.000Z');
    expect(nextCycleId('BR', 20261228n)).toBe(20270104n);
  });

  test('an id that is not a local Monday is refused', () => {
    expect(() => cycleBounds('SG', 20261117n)).toThrow(/Monday/);
  });
});

describe('cycle resolver', () => {
  test('an item of an open cycle stays in it; an item of a closed cycle goes to the next open one, flagged late', async () => {
    const { db } = await r.database();
    const at = new Date('2026-11-18T03:00:00Z');
    const first = await db.transaction((trx) => new CycleResolver(trx).resolve('SG', at));
    expect(first).toEqual({ cycleId: 20261116n, late: false });

    await db('settlement_cycle').where({ region: 'SG', cycle_id: '20261116' }).update({ status: 'CLOSED' });
    await db('settlement_cycle').insert({ region: 'SG', cycle_id: '20261123', starts_at: new Date('2026-11-22T16:00:00Z'), cutoff_at: new Date('2026-11-29T16:00:00Z'), status: 'CLOSING' });
    const late = await db.transaction((trx) => new CycleResolver(trx).resolve('SG', at));
    expect(late).toEqual({ cycleId: 20261130n, late: true });
    const created = await db('settlement_cycle').where({ region: 'SG', cycle_id: '20261130' }).first();
    expect(created.status).toBe('OPEN');
    expect(new Date(created.starts_at).toISOString()).toBe('2026-11-29T16:00:00.000Z');
  });

  test('a batch that read a cycle as open holds the close back until it commits', async () => {
    const { db } = await r.database();
    const at = new Date('2026-11-18T03:00:00Z');
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((res) => (release = res));
    let locked!: () => void;
    const lockTaken = new Promise<void>((res) => (locked = res));
    const batch = db.transaction(async (trx) => {
      await new CycleResolver(trx).resolve('SG', at);
      locked();
      await held;
      order.push('batch committed');
    });
    await lockTaken;
    const close = db('settlement_cycle')
      .where({ region: 'SG', cycle_id: '20261116' })
      .update({ status: 'CLOSING' })
      .then(() => order.push('cycle closing'));
    await new Promise((res) => setTimeout(res, 300));
    release();
    await Promise.all([batch, close]);
    expect(order).toEqual(['batch committed', 'cycle closing']);
  });
});
