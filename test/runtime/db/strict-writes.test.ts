import { useTestResources } from '../../fixtures/resources';
import { bulkLoad, tsvField } from '../../../runtime/db/bulk-load';
import { createDb } from '../../../runtime/db/knex';
import { appendBillingItems, type BillingItemInput } from '../../../runtime/billing/billing-ledger';
import { ensureCycle } from '../../../runtime/billing/cycle-resolver';
import { OutboxWriter, outboxTopic } from '../../../runtime/outbox/outbox-writer';
import { isRetriable } from '../../../runtime/processor/retry-policy';
import { StsError } from '../../../runtime/errors';
import type { AvroCodec } from '../../../runtime/registry/avro-codec';
import type { RegistryClient } from '../../../runtime/registry/registry-client';

/**
 * No value is ever cut short or converted to fit a column: every such write fails, clearly and
 * not retriably, and leaves nothing behind. INSERT IGNORE used to turn these into warnings.
 */
const r = useTestResources();

const SELLER = 652024209997893632n;
let nextId = 910000000000000000n;
const item = (over: Partial<BillingItemInput>): BillingItemInput => ({
  id: nextId++,
  region: 'SG',
  shopUserId: SELLER,
  currency: 'SGD',
  amountMinor: 100n,
  itemType: 'ADJUSTMENT',
  source: 'UPLOAD',
  sourceRef: `ref-${nextId}`,
  orderId: null,
  cycleId: 20261116n,
  memo: null,
  ...over,
});

async function counts(db: Awaited<ReturnType<typeof r.database>>['db']) {
  const items = await db('billing_item').count({ n: '*' }).first();
  const accounts = await db('settlement_account').count({ n: '*' }).first();
  return { items: items?.n, accounts: accounts?.n };
}

describe('strict writes', () => {
  test('INSERT ... ON DUPLICATE KEY UPDATE id = id still fails a value too long for its column, where INSERT IGNORE truncated it', async () => {
    const { db } = await r.database();
    await db.raw('CREATE TABLE probe (id INT AUTO_INCREMENT PRIMARY KEY, k VARCHAR(4) NOT NULL UNIQUE, v VARCHAR(4))');
    await db.raw("INSERT INTO probe (k, v) VALUES ('abcd', 'x')");
    // The claim the outbox writer relies on: ODKU does not carry IGNORE's downgrade, even when
    // the key exists (the row is converted before the key is looked up).
    await expect(db.raw("INSERT INTO probe (k, v) VALUES ('abcde', 'y') ON DUPLICATE KEY UPDATE id = id")).rejects.toMatchObject({ errno: 1406 });
    await expect(db.raw("INSERT INTO probe (k, v) VALUES ('abcd', 'toolong') ON DUPLICATE KEY UPDATE id = id")).rejects.toMatchObject({ errno: 1406 });
    // What IGNORE did: cut 'abcde' to the existing 'abcd', then drop it as a "duplicate".
    const [res] = await db.raw("INSERT IGNORE INTO probe (k, v) VALUES ('abcde', 'y')");
    expect(res.affectedRows).toBe(0);
    expect(await db('probe').select('k', 'v')).toEqual([{ k: 'abcd', v: 'x' }]);
  });

  test('LOAD DATA cannot refuse a value midway: it truncates with a warning, and counts trailing spaces cut with a Note too', async () => {
    // Why the ledger counts warnings: LOCAL implies IGNORE, which overrides strict mode.
    const { db } = await r.database();
    await db.raw('CREATE TABLE probe_load (k VARCHAR(3) NOT NULL PRIMARY KEY, v VARCHAR(3) NULL)');
    const result = await db.transaction((trx) => bulkLoad(trx, 'probe_load', ['k', 'v'], `abcd\tx\nxyz   \ty\n${tsvField('ok')}\t\\N\n`));
    expect(result).toEqual({
      affectedRows: 3,
      warnings: 2,
      warningSamples: ["Data truncated for column 'k' at row 1", "Data truncated for column 'k' at row 2"],
    });
    expect(await db('probe_load').orderBy('k').select('k', 'v')).toEqual([{ k: 'abc', v: 'x' }, { k: 'ok', v: null }, { k: 'xyz', v: 'y' }]);
    // And an INSERT in strict mode: too long fails, but trailing spaces past the length are cut
    // with only a Note, in every SQL mode. The ledger therefore checks lengths before it writes.
    await expect(db.raw("INSERT INTO probe_load (k) VALUES ('efgh')")).rejects.toMatchObject({ errno: 1406 });
    const [res] = await db.raw("INSERT INTO probe_load (k) VALUES ('efg  ')");
    expect(res.warningStatus).toBe(1);
    expect(await db('probe_load').where({ k: 'efg' }).count({ n: '*' }).first()).toEqual({ n: '1' });
  });

  test.each([
    ['LOAD DATA', true],
    ['INSERT', false],
  ])('a billing item whose ref or memo would be cut to fit fails its whole transaction through %s, and nothing is written', async (_path, localInfile) => {
    const { url } = await r.database();
    const db = createDb(url, { localInfile });
    r.defer(() => db.destroy());
    const bad = [{ sourceRef: 'r'.repeat(129) }, { memo: 'm'.repeat(256) }, { sourceRef: `${'😀'.repeat(128)}x` }, { sourceRef: `${'t'.repeat(128)} ` }, { memo: `${'m'.repeat(255)}   ` }];
    for (const over of bad) {
      const err = (await db.transaction((trx) => appendBillingItems(trx, [item({}), item(over), item({})])).catch((e: unknown) => e)) as StsError;
      expect(err).toMatchObject({ code: 'STS_LEDGER_TEXT_TOO_LONG', retriable: false });
      expect(isRetriable(err)).toBe(false);
      expect(err.message).toMatch(/is 129 characters|is 256 characters|is 258 characters; its column holds/);
      expect(await counts(db)).toEqual({ items: '0', accounts: '0' });
    }
    // The emoji ref is 128 code points (512 bytes): it fits, and is stored whole.
    const ok = `${'😀'.repeat(128)}`;
    await db.transaction((trx) => appendBillingItems(trx, [item({ sourceRef: ok, memo: '😀'.repeat(255) })]));
    expect(await db('billing_item').pluck('source_ref')).toEqual([ok]);
  });

  test('a ref that would be cut to an existing key is refused, never retried as a concurrent write', async () => {
    const { db } = await r.database();
    const long = 'k'.repeat(128);
    await db.transaction((trx) => appendBillingItems(trx, [item({ sourceRef: long })]));
    // Cut to 128 characters these are `long`: IGNORE would have called them duplicates, and the
    // INSERT path a duplicate of a row its own key could not find (STS_CONCURRENT_WRITE, forever).
    for (const ref of [`${long}2`, `${long} `]) {
      const err = (await db.transaction((trx) => appendBillingItems(trx, [item({ sourceRef: ref })])).catch((e: unknown) => e)) as StsError;
      expect(err).toMatchObject({ code: 'STS_LEDGER_TEXT_TOO_LONG', retriable: false });
    }
    expect(await counts(db)).toEqual({ items: '1', accounts: '1' });
  });

  test('the outbox refuses an event id longer than its column before any SQL, and stores an exact redelivery once', async () => {
    const { db } = await r.database();
    // The encoder is only reached for rows that fit; a fixed encoding keeps the test on the SQL.
    const codec = { encoderFor: async () => (v: unknown) => Buffer.from(JSON.stringify(v)) } as unknown as AvroCodec;
    const registry = { latestId: async () => 1 } as unknown as RegistryClient;
    const outbox = new OutboxWriter(codec, registry);
    const to = outboxTopic<{ eventId: string }>('t.sql');
    const msg = (eventId: string) => ({ key: SELLER.toString(), eventId, value: { eventId } });
    const err = (await db.transaction((trx) => outbox.add(trx, to, [msg('a'), msg(`commission-request:${'e'.repeat(60)}`)])).catch((e: unknown) => e)) as StsError;
    expect(err).toMatchObject({ code: 'STS_OUTBOX_ID_INVALID', retriable: false });
    expect(await db('outbox').count({ n: '*' }).first()).toEqual({ n: '0' });
    await db.transaction((trx) => outbox.add(trx, to, [msg('a'), msg('A'), msg('a ')]));
    await db.transaction((trx) => outbox.add(trx, to, [msg('a'), msg('A'), msg('a ')]));
    expect((await db('outbox').select('event_id').orderBy('id')).map((x: { event_id: string }) => x.event_id)).toEqual(['a', 'A', 'a ']);
  });

  test('concurrent creators of one cycle row are no error (a duplicate primary key is the other row), and it exists once', async () => {
    const { db } = await r.database();
    await Promise.all([1, 2, 3].map(() => db.transaction((trx) => ensureCycle(trx, 'SG', 20261116n))));
    expect(await db('settlement_cycle').select('region', 'cycle_id', 'status')).toEqual([{ region: 'SG', cycle_id: '20261116', status: 'OPEN' }]);
  });
});
