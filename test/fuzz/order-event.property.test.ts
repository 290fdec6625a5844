import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { PROJECT_ROOT } from '../../runtime/config';
import { StsError, ValidationError } from '../../runtime/errors';
import { SnowflakeGenerator } from '../../runtime/ids/snowflake';
import { WorkerLease } from '../../runtime/ids/worker-lease';
import { cycleIdFor } from '../../runtime/billing/cycle-calendar';
import { createLogger } from '../../runtime/logger';
import { OutboxWriter } from '../../runtime/outbox/outbox-writer';
import { createBatchContext } from '../../runtime/processor/batch-context';
import type { InputRecord, ProcessorDefinition } from '../../runtime/processor/definition';
import { AvroCodec } from '../../runtime/registry/avro-codec';
import { RegistryClient } from '../../runtime/registry/registry-client';
import { valueSubject } from '../../runtime/topology/types';
import { REGIONS } from '../../runtime/money/regions';
import type { Knex } from '../../runtime/db/knex';
import { commissionRequestEventId } from '../../processors/settlement-aggregation/commission-request-out';
import type { OrderEvent } from '../../contracts/order-event';
import { settlementAggregation } from '../../processors/settlement-aggregation/processor';
import { useTestResources } from '../fixtures/resources';
import { fuzzParams } from './fuzz-runs';

/**
 * Order events with extreme and boundary values (ids at 0, 1 and 2^63-1 and negative, amounts at
 * and one past the item bound and at int64's ends, ids and categories at their length limits
 * and with control, format and look-alike characters, instants at the window's edges, years away
 * and invalid) through the processor's own validate hook, then the accepted ones through its
 * handleBatch in a real MariaDB transaction. Every event is either refused with a
 * ValidationError that names a field, or applied exactly: its billing item, its seller's balance,
 * its cycle and its commission request. Nothing else is ever thrown, and a refused event leaves
 * no row behind, not even a cycle. An independent reading of the contract says which it must be.
 */
const r = useTestResources();
const DAY = 86_400_000;
const WINDOW = { maxAgeMs: 400 * DAY, maxFutureMs: DAY };
const MAX_ITEM = 10n ** 16n - 1n;
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
const FORBIDDEN = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

let db: Knex;
let ids: SnowflakeGenerator;
let outbox: OutboxWriter;
let commissionTopic: string;

beforeAll(async () => {
  ({ db } = await r.database());
  const registry = new RegistryClient(r.config.schemaRegistryUrl);
  commissionTopic = r.unique('t.fuzz-commission').replace(/_/g, '-');
  await registry.register(valueSubject(commissionTopic), fs.readFileSync(path.join(PROJECT_ROOT, 'schemas', 'commission-request.avsc'), 'utf8'));
  outbox = new OutboxWriter(new AvroCodec(registry), registry);
  const lease = await WorkerLease.acquire(db, { datacenterId: 0, owner: 'order-event-fuzz' });
  r.defer(() => lease.release());
  ids = new SnowflakeGenerator(lease);
}, 60_000);

/** The contract, read independently of the validator. */
function mustAccept(e: OrderEvent, now: number): boolean {
  const id = e.event_id;
  const region = Object.prototype.hasOwnProperty.call(REGIONS, e.region) ? REGIONS[e.region] : undefined;
  const positive = (v: bigint | null) => v === null || (v > 0n && v <= INT64_MAX);
  const at = e.occurred_at.getTime();
  const amountOk = e.event_type === 'ORDER_ADJUSTED' ? e.amount_minor !== 0n : e.amount_minor > 0n;
  return (
    [...id].length >= 1 &&
    [...id].length <= 128 &&
    !FORBIDDEN.test(id) &&
    id.trim() === id &&
    e.order_id > 0n &&
    e.shop_user_id > 0n &&
    positive(e.affiliate_user_id) &&
    region !== undefined &&
    e.currency === region.currency &&
    amountOk &&
    (e.amount_minor < 0n ? -e.amount_minor : e.amount_minor) <= MAX_ITEM &&
    [...e.category].length >= 1 &&
    [...e.category].length <= 64 &&
    !FORBIDDEN.test(e.category) &&
    Number.isFinite(at) &&
    at >= now - WINDOW.maxAgeMs &&
    at <= now + WINDOW.maxFutureMs
  );
}

const idEdge = fc.constantFrom(0n, 1n, -1n, 2n, INT64_MAX, INT64_MIN, 652024209997893632n, 999999999999999999n);
const anyId = fc.oneof(idEdge, fc.bigInt({ min: INT64_MIN, max: INT64_MAX }), fc.bigInt({ min: 1n, max: INT64_MAX }));
const amount = fc.oneof(
  fc.constantFrom(0n, 1n, -1n, MAX_ITEM, -MAX_ITEM, MAX_ITEM + 1n, -(MAX_ITEM + 1n), INT64_MAX, INT64_MIN, 2n ** 53n + 1n),
  fc.bigInt({ min: -MAX_ITEM, max: MAX_ITEM }),
  fc.bigInt({ min: -1_000_000n, max: 1_000_000n }),
);
const oddText = fc.constantFrom('', ' ', 'x ', ' x', 'a\u0000b', 'a\nb', 'a\rb', 'a\u202eb', 'a\u200bb', 'a\u2028b', 'a\u0085b', 'a\u007f', '\ud800', 'é', 'e\u0301', '😀', '👨‍👩‍👧', 'ſ', 'ı', '\ufeffx', 'x'.repeat(64), 'x'.repeat(65), 'y'.repeat(128), 'y'.repeat(129), '😀'.repeat(128), '😀'.repeat(129));
const text = fc.oneof(oddText, fc.string({ minLength: 1, maxLength: 30 }), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }), fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/));
const regionCode = fc.oneof(fc.constantFrom(...Object.keys(REGIONS)), fc.constantFrom('sg', 'ſG', 'ıD', 'ＳＧ', 'S\u200bG', 'XX', '', 'SGD', '__proto__', 'toString'));
const offset = fc.oneof(
  fc.integer({ min: -WINDOW.maxAgeMs + 1, max: WINDOW.maxFutureMs - 1 }),
  fc.constantFrom(-WINDOW.maxAgeMs, -WINDOW.maxAgeMs - 1, WINDOW.maxFutureMs, WINDOW.maxFutureMs + 1, -3652 * DAY, 365 * DAY, -1, 0, 1),
  fc.integer({ min: -20 * 365 * DAY, max: 20 * 365 * DAY }),
);
/** Mostly valid, sometimes hostile, per field: about a third of the events are valid whole. */
const mostly = <T>(valid: fc.Arbitrary<T>, hostile: fc.Arbitrary<T>) => fc.oneof({ arbitrary: valid, weight: 9 }, { arbitrary: hostile, weight: 1 });
const goodId = fc.bigInt({ min: 1n, max: INT64_MAX });
const goodText = fc.oneof(fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/), fc.constantFrom('é', 'e\u0301', '😀-books', 'x'.repeat(64), '中文'));
const eventArb = fc.record({
  event_id: mostly(fc.oneof(goodText, fc.constant('y'.repeat(128)), fc.constant('😀'.repeat(128))), text),
  event_type: fc.constantFrom<OrderEvent['event_type']>('ORDER_COMPLETED', 'ORDER_REFUNDED', 'ORDER_ADJUSTED'),
  order_id: mostly(goodId, anyId),
  shop_user_id: mostly(goodId, anyId),
  region: mostly(fc.constantFrom(...Object.keys(REGIONS)), regionCode),
  /** true: the region's own currency (or SGD for a region that is not one). */
  ownCurrency: mostly(fc.constant(true), fc.constant(false)),
  otherCurrency: fc.constantFrom('SGD', 'MYR', 'sgd', 'ſGD', 'VND', ''),
  amount_minor: mostly(fc.bigInt({ min: 1n, max: MAX_ITEM }), amount),
  category: mostly(goodText, text),
  affiliate_user_id: fc.option(mostly(goodId, anyId), { freq: 2 }),
  offset: mostly(fc.integer({ min: -WINDOW.maxAgeMs, max: WINDOW.maxFutureMs }), offset),
  invalidDate: fc.integer({ min: 0, max: 19 }).map((n) => n === 0),
});

describe('order event boundary', () => {
  test('every event is refused with a field-naming reason or applied exactly; nothing else is thrown', async () => {
    let runs = 0;
    let applied = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(eventArb, { minLength: 1, maxLength: 8, selector: (g) => g.event_id }), async (generated) => {
        const now = Date.now();
        const def: ProcessorDefinition<OrderEvent> = settlementAggregation(ids, 'fuzz-orders', commissionTopic, { eventTime: WINDOW, now: () => now });
        const events: OrderEvent[] = generated.map((g) => ({
          event_id: g.event_id,
          event_type: g.event_type,
          order_id: g.order_id,
          shop_user_id: g.shop_user_id,
          region: g.region,
          currency: g.ownCurrency ? (Object.prototype.hasOwnProperty.call(REGIONS, g.region) ? REGIONS[g.region]!.currency : 'SGD') : g.otherCurrency,
          amount_minor: g.amount_minor,
          category: g.category,
          affiliate_user_id: g.affiliate_user_id,
          occurred_at: g.invalidDate ? new Date(Number.NaN) : new Date(now + g.offset),
        }));
        // A clean ledger per run, so nothing depends on an earlier run's sellers or cycles.
        for (const table of ['billing_item', 'settlement_account', 'settlement_cycle', 'outbox']) await db(table).del();

        const accepted: OrderEvent[] = [];
        runs++;
        for (const e of events) {
          const record = { value: e, key: null, topic: 'fuzz-orders', partition: 0, offset: '0', timestamp: String(now), headers: {} } as InputRecord<OrderEvent>;
          let refusal: unknown = null;
          try {
            def.validate!(e, record);
          } catch (err) {
            refusal = err;
          }
          if (refusal !== null) {
            expect(refusal).toBeInstanceOf(ValidationError);
            expect((refusal as StsError).code).toBe('STS_VALIDATION_FAILED');
            expect((refusal as Error).message).toMatch(/^(event_id|event_type|order_id|shop_user_id|affiliate_user_id|region|currency|amount_minor|category|occurred_at): \S/);
          } else accepted.push(e);
          expect([e.event_id, refusal === null]).toEqual([e.event_id, mustAccept(e, now)]);
        }

        const logger = createLogger('order-event-fuzz', 'silent');
        await db.transaction(async (trx) => {
          await def.handleBatch(createBatchContext(trx, outbox, logger), accepted.map((value) => ({ value, key: null, topic: 'fuzz-orders', partition: 0, offset: '0', timestamp: String(now), headers: {} })));
        });

        const items = (await db('billing_item').select('source_ref', 'shop_user_id', 'region', 'currency', 'amount_minor', 'item_type', 'order_id', 'cycle_id', 'late')) as Array<Record<string, string | number>>;
        const signed = (e: OrderEvent) => (e.event_type === 'ORDER_REFUNDED' ? -e.amount_minor : e.amount_minor);
        expect(items.map((i) => [i.source_ref, String(i.shop_user_id), i.region, i.currency, String(i.amount_minor), String(i.order_id), String(i.cycle_id), Number(i.late)]).sort()).toEqual(
          accepted.map((e) => [e.event_id, e.shop_user_id.toString(), e.region, e.currency, signed(e).toString(), e.order_id.toString(), cycleIdFor(e.region, e.occurred_at).toString(), 0]).sort(),
        );
        const balances = new Map<string, bigint>();
        for (const e of accepted) {
          const k = `${e.region}:${e.shop_user_id}:${cycleIdFor(e.region, e.occurred_at)}`;
          balances.set(k, (balances.get(k) ?? 0n) + signed(e));
        }
        const accounts = (await db('settlement_account').select('region', 'shop_user_id', 'cycle_id', 'balance_minor')) as Array<Record<string, string>>;
        expect(new Map(accounts.map((a) => [`${a.region}:${a.shop_user_id}:${a.cycle_id}`, BigInt(a.balance_minor!)]))).toEqual(balances);
        // A refused event opened no cycle: the cycles are exactly those of the accepted events.
        const cycles = ((await db('settlement_cycle').select('region', 'cycle_id')) as Array<Record<string, string>>).map((c) => `${c.region}:${c.cycle_id}`);
        expect(new Set(cycles)).toEqual(new Set(accepted.map((e) => `${e.region}:${cycleIdFor(e.region, e.occurred_at)}`)));
        const requests = (await db('outbox').pluck('event_id')) as string[];
        expect(requests.sort()).toEqual(accepted.filter((e) => e.event_type !== 'ORDER_ADJUSTED').map((e) => commissionRequestEventId(e.event_id)).sort());
        expect(requests.every((id) => [...id].length <= 64)).toBe(true);
        applied += accepted.length;
        refused += events.length - accepted.length;
      }),
      fuzzParams('order events validate+apply'),
    );
    // Both outcomes were exercised, not only refusals.
    process.stdout.write(`order events: ${runs} runs, ${applied} applied, ${refused} refused\n`);
    if (runs >= 20) expect([applied > 0, refused > 0]).toEqual([true, true]);
  }, 180_000);
});
