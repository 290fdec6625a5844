import { useTestResources } from '../helpers/resources';
import { createDb } from '../../runtime/db/knex';
import { appendBillingItems, type BillingItemInput } from '../../runtime/ledger/billing-ledger';
import { ensureCycle } from '../../runtime/ledger/cycle-resolver';
import { OutboxWriter } from '../../runtime/outbox/outbox-writer';
import { isRetriable } from '../../runtime/processor/retry-policy';
import { StsError } from '../../runtime/errors';
import type { AvroCodec } from '../../runtime/registry/avro-codec';
import type { RegistryClient } from '../../runtime/registry/registry-client';

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

  test.each([
    ['LOAD DATA', true],
    ['INSERT', false],
  ])('a billing item whose ref or memo would be truncated fails its whole transaction through %s, and nothing is written', async (_path, localInfile) => {
    const { url } = await r.database();
    const db = createDb(url, { localInfile });
    r.defer(() => db.destroy());
    for (const bad of [{ sourceRef: 'r'.repeat(129) }, { memo: 'm'.repeat(256) }, { sourceRef: `${'😀'.repeat(128)}x` }]) {
      const err = (await db.transaction((trx) => appendBillingItems(trx, [item({}), item(bad), item({})])).catch((e: unknown) => e)) as Error & { code?: string };
      expect(err).toBeInstanceOf(Error);
      expect(isRetriable(err)).toBe(false);
      // LOAD DATA cannot fail midway (LOCAL implies IGNORE): the ledger counts the warnings and
      // fails the batch itself. INSERT in strict mode fails with the server's own error.
      if (localInfile) expect(err).toMatchObject({ code: 'STS_LEDGER_WRITE_ALTERED' });
      else expect(err).toMatchObject({ errno: 1406 });
      expect(err.message).toMatch(/too long|truncated/i);
      expect(await counts(db)).toEqual({ items: '0', accounts: '0' });
    }
  });

  test('a truncated row that would collide with an existing key is not mistaken for its duplicate', async () => {
    const { db } = await r.database();
    const long = 'k'.repeat(128);
    await db.transaction((trx) => appendBillingItems(trx, [item({ sourceRef: long })]));
    // Cut to 128 characters this is `long`, with the same content: IGNORE would call it a duplicate.
    const err = (await db.transaction((trx) => appendBillingItems(trx, [item({ sourceRef: `${long}2` })])).catch((e: unknown) => e)) as StsError;
    expect(err).toMatchObject({ code: 'STS_LEDGER_WRITE_ALTERED', retriable: false });
    expect(await counts(db)).toEqual({ items: '1', accounts: '1' });
  });

  test('the outbox refuses an event id longer than its column before any SQL, and stores an exact redelivery once', async () => {
    const { db } = await r.database();
    // The encoder is only reached for rows that fit; a fixed encoding keeps the test on the SQL.
    const codec = { encoderFor: async () => (v: unknown) => Buffer.from(JSON.stringify(v)) } as unknown as AvroCodec;
    const registry = { latestId: async () => 1 } as unknown as RegistryClient;
    const outbox = new OutboxWriter(codec, registry);
    const msg = (eventId: string) => ({ topic: 't.sql', key: SELLER.toString(), eventId, value: { eventId } });
    const err = (await db.transaction((trx) => outbox.add(trx, [msg('a'), msg(`commission-request:${'e'.repeat(60)}`)])).catch((e: unknown) => e)) as StsError;
    expect(err).toMatchObject({ code: 'STS_OUTBOX_ID_INVALID', retriable: false });
    expect(await db('outbox').count({ n: '*' }).first()).toEqual({ n: '0' });
    await db.transaction((trx) => outbox.add(trx, [msg('a'), msg('A'), msg('a ')]));
    await db.transaction((trx) => outbox.add(trx, [msg('a'), msg('A'), msg('a ')]));
    expect((await db('outbox').select('event_id').orderBy('id')).map((x: { event_id: string }) => x.event_id)).toEqual(['a', 'A', 'a ']);
  });

  test('concurrent creators of one cycle row are no error (a duplicate primary key is the other row), and it exists once', async () => {
    const { db } = await r.database();
    await Promise.all([1, 2, 3].map(() => db.transaction((trx) => ensureCycle(trx, 'SG', 20261116n))));
    expect(await db('settlement_cycle').select('region', 'cycle_id', 'status')).toEqual([{ region: 'SG', cycle_id: '20261116', status: 'OPEN' }]);
  });
});
