import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { escape } from 'mysql2';
import { mysqlDown, mysqlUp, ensureDatabase } from '../../../infra/mysql-server';
import { freePort } from '../../../infra/ports';
import { PROJECT_ROOT, withDatabase, type StsConfig } from '../../../runtime/config';
import { createDb, SESSION_SQL_MODE, type Knex } from '../../../runtime/db/knex';
import { migrateLatest } from '../../../runtime/db/migrate';
import { SnowflakeGenerator } from '../../../runtime/ids/snowflake';
import { WorkerLease } from '../../../runtime/ids/worker-lease';
import { appendBillingItems, type BillingItemInput } from '../../../runtime/billing/billing-ledger';
import { AvroCodec } from '../../../runtime/registry/avro-codec';
import { RegistryClient } from '../../../runtime/registry/registry-client';
import { valueSubject, dlqTopic } from '../../../runtime/topology/types';
import { ensureTopicList } from '../../../runtime/kafka/topic-admin';
import { settlementAggregation } from '../../../processors/settlement-aggregation/processor';
import type { OrderEvent } from '../../../contracts/order-event';
import { listFindings, saveRuleFindings } from '../../../services/recon/finding-store';
import { useTestResources } from '../../fixtures/resources';
import { startInProcess, waitFor } from '../../fixtures/processor-harness';

/**
 * A private MariaDB whose GLOBAL sql_mode is the hostile one: NO_BACKSLASH_ESCAPES (a backslash
 * in a string literal is an ordinary character, so mysql2's `\'` ENDS the string) and ANSI_QUOTES
 * (`"` quotes identifiers), and not strict. The code escapes with backslashes everywhere, so it
 * is safe only because every session sets its own mode. Migrations and the real write paths run
 * against it with text full of quotes, backslashes, backticks, semicolons, comments and newlines,
 * and everything is stored and matched verbatim.
 */
const r = useTestResources();
const HOSTILE = 'NO_BACKSLASH_ESCAPES,ANSI_QUOTES,PAD_CHAR_TO_FULL_LENGTH';
const NASTY = ["it's", 'a "quoted" word', 'back\\slash\\', '`tick`', 'semi;colon', "x' OR '1'='1", "'); DROP TABLE billing_item; -- ", '-- comment', '/* c */', 'line\nbreak', 'tab\there', 'cr\r', 'nul\u0000', 'ctrl-z\u001a', '\\\'', '😀 é'];
const SELLER = 652024209997893632n;

let dir: string;
let config: StsConfig;
let url: string;
let db: Knex;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sts-hostile-'));
  const port = await freePort();
  config = { ...r.config, mysqlUrl: `mysql://root@127.0.0.1:${port}/sts_hostile`, dataDir: dir, mysqlBufferPool: '64M' };
  await mysqlUp(config, () => undefined, { serverArgs: [`--sql-mode=${HOSTILE}`] });
  url = config.mysqlUrl;
  await ensureDatabase(url, 'sts_hostile');
  db = createDb(url, { pool: 4 });
  await migrateLatest(db);
}, 180_000);

afterAll(async () => {
  await db?.destroy();
  if (config) await mysqlDown(config);
  fs.rmSync(dir, { recursive: true, force: true });
}, 90_000);

test('the server really runs the hostile mode, and an unpinned session would mis-parse escaped text', async () => {
  const conn = await mysql.createConnection({ uri: withDatabase(url, 'sts_hostile') });
  try {
    const [[row]] = (await conn.query('SELECT @@GLOBAL.sql_mode AS g, @@SESSION.sql_mode AS s')) as unknown as [[{ g: string; s: string }]];
    for (const mode of ['NO_BACKSLASH_ESCAPES', 'ANSI_QUOTES']) {
      expect(row.g.split(',')).toContain(mode);
      expect(row.s.split(',')).toContain(mode);
    }
    expect(row.g).not.toMatch(/STRICT/);
    // mysql2 escapes "it's" as 'it\'s'; here \ is literal and the quote after it ends the string.
    await expect(conn.query(`SELECT ${escape("it's")} AS v`)).rejects.toMatchObject({ errno: 1064 });
    // And this one is valid SQL meaning something else: the literal is 'a\' and then OR 1=1.
    const [rows] = (await conn.query(`SELECT 1 AS hit FROM DUAL WHERE 'x' = ${escape("a\\' OR 1=1 -- ")}`)) as unknown as [unknown[]];
    expect(rows).toHaveLength(1);
  } finally {
    await conn.end();
  }
});

test('our sessions are pinned regardless, and strict', async () => {
  const [[row]] = (await db.raw('SELECT @@SESSION.sql_mode AS s, @@SESSION.time_zone AS tz')) as [[{ s: string; tz: string }]];
  expect(new Set(row.s.split(','))).toEqual(new Set(SESSION_SQL_MODE));
  expect(row.tz).toBe('+00:00');
  await expect(db('seller_hold').insert({ region: 'SGX', shop_user_id: SELLER.toString(), reason: 'x' })).rejects.toMatchObject({ errno: 1406 });
});

test.each([
  ['LOAD DATA', true],
  ['INSERT', false],
])('billing items through %s keep every ref and memo verbatim, and a redelivery matches them byte for byte', async (_path, localInfile) => {
  const pool = createDb(url, { pool: 2, localInfile });
  try {
    let id = (localInfile ? 930000000000000000n : 940000000000000000n);
    const items: BillingItemInput[] = NASTY.map((text, i) => ({
      id: id++,
      region: 'SG',
      shopUserId: SELLER,
      currency: 'SGD',
      amountMinor: BigInt(i + 1),
      itemType: 'ADJUSTMENT',
      source: 'UPLOAD',
      sourceRef: `${localInfile ? 'L' : 'I'}:${text}`,
      orderId: null,
      cycleId: 20261116n,
      memo: text,
    }));
    const first = await pool.transaction((trx) => appendBillingItems(trx, items));
    expect(first.inserted).toHaveLength(NASTY.length);
    const rows = (await pool('billing_item').whereIn('id', items.map((x) => x.id.toString())).orderBy('id').select('source_ref', 'memo')) as Array<{ source_ref: string; memo: string }>;
    expect(rows).toEqual(items.map((x) => ({ source_ref: x.sourceRef, memo: x.memo })));
    const again = await pool.transaction((trx) => appendBillingItems(trx, items.map((x) => ({ ...x, id: id++ }))));
    expect([again.inserted.length, again.duplicates.length, again.conflicts.length]).toEqual([0, NASTY.length, 0]);
    // Looked up by key with a bound parameter, each text finds exactly its own row.
    for (const x of items) expect(await pool('billing_item').where({ region: 'SG', source: 'UPLOAD', source_ref: x.sourceRef }).pluck('memo')).toEqual([x.memo]);
  } finally {
    await pool.destroy();
  }
});

test('order events with hostile ids are applied through the real processor, with their outbox rows, verbatim', async () => {
  const registry = new RegistryClient(r.config.schemaRegistryUrl);
  const codec = new AvroCodec(registry);
  const orders = await r.topic('hostile-orders', 1);
  const commission = await r.topic('hostile-commission', 1);
  await ensureTopicList(r.kafka, [{ topic: dlqTopic(orders), numPartitions: 1 }]);
  r.defer(async () => {
    const admin = r.kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [dlqTopic(orders)] }).finally(() => admin.disconnect());
  });
  const schema = (f: string) => fs.readFileSync(path.join(PROJECT_ROOT, 'schemas', f), 'utf8');
  const schemaId = await registry.register(valueSubject(orders), schema('order-event.avsc'));
  await registry.register(valueSubject(commission), schema('commission-request.avsc'));
  const lease = await WorkerLease.acquire(db, { datacenterId: 0, owner: 'hostile-test' });
  r.defer(() => lease.release());
  const ids = new SnowflakeGenerator(lease);

  // The order-event contract refuses control characters in an id; everything else is kept.
  const eventIds = NASTY.filter((t) => ![...t].some((c) => c.charCodeAt(0) < 0x20)).map((t, i) => `h${i}${t}`.trim());
  let order = 750000000000000000n;
  const events: OrderEvent[] = eventIds.map((id) => ({
    event_id: id,
    event_type: 'ORDER_COMPLETED',
    order_id: order++,
    shop_user_id: SELLER,
    region: 'SG',
    currency: 'SGD',
    amount_minor: 500n,
    category: "books'\\`;--",
    affiliate_user_id: null,
    occurred_at: new Date(),
  }));
  const producer = r.kafka.producer();
  await producer.connect();
  try {
    for (const e of events) await producer.send({ topic: orders, messages: [{ key: String(e.shop_user_id), value: await codec.encode(schemaId, e), partition: 0 }] });
  } finally {
    await producer.disconnect();
  }
  await startInProcess(r, { ...settlementAggregation(ids, orders, commission), group: r.group('hostile-agg') }, { db, codec, registry });
  await waitFor('every hostile event applied', async () => Number((await db('billing_item').where({ source: 'ORDER' }).count({ n: '*' }).first())?.n) >= events.length, 60_000);
  const refs = ((await db('billing_item').where({ source: 'ORDER' }).pluck('source_ref')) as string[]).sort();
  expect(refs).toEqual([...eventIds].sort());
  const outboxIds = (await db('outbox').where({ topic: commission }).pluck('event_id')) as string[];
  expect(outboxIds).toHaveLength(events.length);
  for (const id of eventIds) if (`commission-request:${id}`.length <= 64) expect(outboxIds).toContain(`commission-request:${id}`);
}, 120_000);

test('an ops read path binds hostile query parameters as data', async () => {
  const now = new Date();
  const findings = NASTY.map((t, i) => ({ rule: 'HOSTILE_RULE', severity: 'WARNING' as const, entity: `e${i}:${t}`, detail: `detail ${t}` }));
  await saveRuleFindings(db, findings, new Map(), now, false);
  for (const f of findings) {
    const found = await listFindings(db, { rule: 'HOSTILE_RULE', entity: f.entity });
    expect(found.map((x) => [x.entity, x.detail])).toEqual([[f.entity, f.detail]]);
  }
  expect(await listFindings(db, { rule: "HOSTILE_RULE' OR '1'='1" })).toEqual([]);
  expect(await listFindings(db, { rule: 'HOSTILE_RULE', entity: 'e0:it' })).toEqual([]);
});
