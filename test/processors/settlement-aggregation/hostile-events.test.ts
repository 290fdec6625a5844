import { DLQ_HEADERS } from '../../../runtime/processor/dlq-publisher';
import { cycleBounds, cycleIdFor, nextCycleId } from '../../../runtime/billing/cycle-calendar';
import { ensureCycle } from '../../../runtime/billing/cycle-resolver';
import { commissionRequestEventId } from '../../../processors/settlement-aggregation/commission-request-out';
import type { OrderEvent } from '../../../contracts/order-event';
import { useTestResources } from '../../fixtures/resources';
import { aggregationSetup, header } from '../../fixtures/aggregation-harness';

/**
 * Order events that break the contract, each between valid ones, through the real topic, the
 * real settlement-aggregation processor and MariaDB. Every refused event is dead-lettered with a
 * reason naming its field and its original coordinates; every valid event around it is applied
 * exactly (its billing item, amount and commission request), and a refused one writes nothing,
 * not even the cycle row its date would have opened.
 */
const r = useTestResources();
const DAY = 86_400_000;
const SELLER = 652024209997893632n;
let order = 700000000000000000n;

function event(id: string, over: Partial<OrderEvent> = {}): OrderEvent {
  return {
    event_id: id,
    event_type: 'ORDER_COMPLETED',
    order_id: order++,
    shop_user_id: SELLER,
    region: 'SG',
    currency: 'SGD',
    amount_minor: 1000n,
    category: 'books',
    affiliate_user_id: null,
    occurred_at: new Date(),
    ...over,
  };
}

test('each kind of contract breach is dead-lettered with its reason; the valid events around them are applied exactly', async () => {
  const s = await aggregationSetup(r);
  const p = r.unique('hx');
  const tenYearsAgo = new Date(Date.now() - 3652 * DAY);
  const nextYear = new Date(Date.now() + 365 * DAY);
  // A cycle two weeks back, already closed: its late event is booked into the open cycle.
  const now = new Date();
  const current = cycleIdFor('SG', now);
  const closed = cycleIdFor('SG', new Date(cycleBounds('SG', current).startsAt.getTime() - 8 * DAY));
  await ensureCycle(s.db, 'SG', closed);
  await s.db('settlement_cycle').where({ region: 'SG', cycle_id: closed.toString() }).update({ status: 'CLOSED' });

  const longPrefix = `${p}-`.padEnd(100, 'L');
  const bad: Array<[OrderEvent, RegExp]> = [
    [event(''), /^event_id: must not be empty/],
    [event(`${p}-`.padEnd(129, 'x')), /^event_id: is 129 characters; at most 128/],
    [event(`${p}-nul\u0000`), /^event_id: holds U\+0000/],
    [event(`${p}-bidi\u202e`), /^event_id: holds U\+202E/],
    [event(`${p}-line\u2028`), /^event_id: holds U\+2028/],
    [event(`${p}-space `), /^event_id: must not start or end with whitespace/],
    [event(`${p}-order0`, { order_id: 0n }), /^order_id: 0 is not a positive 64-bit integer/],
    [event(`${p}-sellerneg`, { shop_user_id: -5n }), /^shop_user_id: -5 is not a positive/],
    [event(`${p}-aff0`, { affiliate_user_id: 0n }), /^affiliate_user_id: 0 is not a positive/],
    [event(`${p}-lower`, { region: 'sg' }), /^region: "sg" is not a region/],
    [event(`${p}-longs`, { region: '\u017fG' }), /^region: "ſG" is not a region/],
    [event(`${p}-mixed`, { currency: 'MYR' }), /^currency: "MYR" is not the currency of region SG \(SGD\)/],
    [event(`${p}-lowcur`, { currency: 'sgd' }), /^currency: "sgd" is not the currency/],
    [event(`${p}-zero`, { amount_minor: 0n }), /^amount_minor: 0 is not positive; ORDER_COMPLETED needs a positive amount/],
    [event(`${p}-negref`, { event_type: 'ORDER_REFUNDED', amount_minor: -10n }), /^amount_minor: -10 is not positive; ORDER_REFUNDED/],
    [event(`${p}-zeroadj`, { event_type: 'ORDER_ADJUSTED', amount_minor: 0n }), /^amount_minor: must be non-zero for ORDER_ADJUSTED/],
    [event(`${p}-huge`, { amount_minor: 10n ** 16n }), /^amount_minor: amount 10000000000000000 minor units is beyond the SGD item bound/],
    [event(`${p}-min`, { event_type: 'ORDER_ADJUSTED', amount_minor: -(2n ** 63n) }), /^amount_minor: amount -9223372036854775808 minor units is beyond/],
    [event(`${p}-nocat`, { category: '' }), /^category: must not be empty/],
    [event(`${p}-longcat`, { category: 'c'.repeat(65) }), /^category: is 65 characters; at most 64/],
    [event(`${p}-nlcat`, { category: 'books\nfake log line' }), /^category: holds U\+000A/],
    [event(`${p}-old`, { occurred_at: tenYearsAgo }), /^occurred_at: .* is more than 400 days in the past \(STS_EVENT_MAX_AGE_DAYS\)/],
    [event(`${p}-future`, { occurred_at: nextYear }), /^occurred_at: .* in the future \(STS_EVENT_MAX_FUTURE_MS\)/],
  ];
  const refused = bad;
  const valid: OrderEvent[] = [
    event(`${p}-ok-plain`),
    event(`${p}-ok-refund`, { event_type: 'ORDER_REFUNDED', amount_minor: 400n }),
    event(`${p}-ok-adjust`, { event_type: 'ORDER_ADJUSTED', amount_minor: -250n }),
    event(`${p}-`.padEnd(128, 'm')),
    event(`${p}-ok-bounds`, { amount_minor: 10n ** 16n - 1n, category: 'k'.repeat(64), affiliate_user_id: 652024209997893633n }),
    event(`${p}-ok-unicode-😀`, { category: 'livres-é' }),
    event(`${p}-ok-late`, { occurred_at: new Date(cycleBounds('SG', closed).startsAt.getTime() + DAY) }),
    event(`${p}-ok-minute-ahead`, { occurred_at: new Date(Date.now() + 60_000) }),
    event(`${p}-ok-old-but-inside`, { occurred_at: new Date(Date.now() - 300 * DAY) }),
    event(`${longPrefix}${'A'.repeat(28)}`),
    event(`${longPrefix}${'B'.repeat(28)}`),
    event(`${p}-ok-th`, { region: 'TH', currency: 'THB' }),
  ];
  // Interleave: valid, refused, valid, refused, ...
  const sequence: Array<{ e: OrderEvent; reason: RegExp | null }> = [];
  for (let i = 0; i < Math.max(valid.length, refused.length); i++) {
    if (valid[i]) sequence.push({ e: valid[i]!, reason: null });
    if (refused[i]) sequence.push({ e: refused[i]![0], reason: refused[i]![1] });
  }
  const offsets = await s.produce(sequence.map((x) => x.e));
  await s.start();
  await s.drained();

  const letters = await s.deadLetters(refused.length);
  expect(letters).toHaveLength(refused.length);
  sequence.forEach(({ e, reason }, i) => {
    const letter = letters.find((l) => header(l, DLQ_HEADERS.offset) === offsets[i]);
    if (reason === null) return void expect([e.event_id, letter]).toEqual([e.event_id, undefined]);
    expect(letter).toBeDefined();
    expect(header(letter!, DLQ_HEADERS.code)).toBe('STS_VALIDATION_FAILED');
    expect(header(letter!, DLQ_HEADERS.topic)).toBe(s.orders);
    expect(header(letter!, DLQ_HEADERS.partition)).toBe('0');
    expect(header(letter!, DLQ_HEADERS.message)).toMatch(reason);
  });

  const items = (await s.db('billing_item').where({ source: 'ORDER' }).select('source_ref', 'amount_minor', 'item_type', 'cycle_id', 'late')) as Array<{ source_ref: string; amount_minor: string; item_type: string; cycle_id: string; late: number }>;
  const byRef = new Map(items.map((i) => [i.source_ref, i]));
  expect(items).toHaveLength(valid.length);
  for (const e of valid) {
    const item = byRef.get(e.event_id);
    expect([e.event_id, item?.amount_minor]).toEqual([e.event_id, String(e.event_type === 'ORDER_REFUNDED' ? -e.amount_minor : e.amount_minor)]);
  }
  const late = byRef.get(`${p}-ok-late`)!;
  // Booked, as before, into the first open cycle after its closed one, flagged late.
  expect([late.cycle_id, Boolean(late.late)]).toEqual([nextCycleId('SG', closed).toString(), true]);
  const [{ balance }] = (await s.db('settlement_account').where({ shop_user_id: SELLER.toString(), region: 'SG' }).sum({ balance: 'balance_minor' })) as [Record<string, string>];
  const expected = valid.filter((e) => e.region === 'SG').reduce((sum, e) => sum + (e.event_type === 'ORDER_REFUNDED' ? -e.amount_minor : e.amount_minor), 0n);
  expect(String(balance)).toBe(expected.toString());

  // The refused dates opened no cycle: only the closed one, the current one and those of valid events exist.
  const cycles = ((await s.db('settlement_cycle').where({ region: 'SG' }).pluck('cycle_id')) as Array<string | number>).map(String);
  expect(cycles).not.toContain(cycleIdFor('SG', tenYearsAgo).toString());
  expect(cycles).not.toContain(cycleIdFor('SG', nextYear).toString());
  const allowed = new Set([closed, nextCycleId('SG', closed), current, ...valid.map((e) => cycleIdFor(e.region, e.occurred_at))].map(String));
  expect(cycles.every((c) => allowed.has(c))).toBe(true);

  // One commission request per valid charge or refund, each under an outbox id that fits its
  // column, the two 128-character ids that share 100 characters included.
  const outbox = (await s.db('outbox').where({ topic: s.commission }).pluck('event_id')) as string[];
  const chargeable = valid.filter((e) => e.event_type !== 'ORDER_ADJUSTED');
  expect(outbox.sort()).toEqual(chargeable.map((e) => commissionRequestEventId(e.event_id)).sort());
  expect(outbox.every((id) => id.length <= 64)).toBe(true);
  expect(new Set(outbox).size).toBe(chargeable.length);
}, 180_000);

test('the outbox id of a commission request fits its column and never collides across the two forms', () => {
  const short = 'evt-1';
  expect(commissionRequestEventId(short)).toBe('commission-request:evt-1');
  const long = 'x'.repeat(128);
  const hashed = commissionRequestEventId(long);
  expect(hashed).toMatch(/^commission-request#[0-9a-f]{40}$/);
  // A short id made to look like the hashed form still gets the plain, ':' form.
  expect(commissionRequestEventId(hashed.slice('commission-request#'.length))).toMatch(/^commission-request:/);
  expect(commissionRequestEventId(`${'y'.repeat(45)}`)).toHaveLength(64);
  expect(commissionRequestEventId(`${'y'.repeat(46)}`)).toMatch(/^commission-request#/);
  expect(commissionRequestEventId('😀'.repeat(45))).toBe(`commission-request:${'😀'.repeat(45)}`);
});
