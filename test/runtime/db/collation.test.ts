import { useTestResources } from '../../fixtures/resources';
import { BINARY_COLLATIONS, binaryCollation } from '../../../runtime/db/collation';

/**
 * Every text column of a migrated database compares byte for byte, NO PAD. A future migration
 * that adds a column or a table with another collation (a COLLATE of its own, a CONVERT, a
 * database created elsewhere with the server default) fails here.
 */
const r = useTestResources();

test('every char, varchar and text column, every table and the database use the pinned binary NO PAD collation', async () => {
  const { db, name } = await r.database();
  const pinned = await binaryCollation(db);
  expect(BINARY_COLLATIONS).toContain(pinned);

  const [columns] = (await db.raw(
    `SELECT TABLE_NAME AS t, COLUMN_NAME AS c, DATA_TYPE AS type, CHARACTER_SET_NAME AS cs, COLLATION_NAME AS coll
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND COLLATION_NAME IS NOT NULL ORDER BY TABLE_NAME, COLUMN_NAME`,
    [name],
  )) as [Array<{ t: string; c: string; type: string; cs: string; coll: string }>];
  // The tables the code keys on are all there, so an empty list cannot pass.
  for (const table of ['billing_item', 'outbox', 'commission_charge', 'commission_clawback', 'dlq_replay', 'upload', 'recon_finding']) {
    expect(columns.some((col) => col.t === table)).toBe(true);
  }
  expect(columns.filter((col) => ['char', 'varchar', 'text', 'mediumtext', 'longtext', 'tinytext'].includes(col.type)).length).toBe(columns.length);
  const off = columns.filter((col) => col.coll !== pinned || col.cs !== 'utf8mb4').map((col) => `${col.t}.${col.c}: ${col.cs}/${col.coll}`);
  expect(off).toEqual([]);

  const [tables] = (await db.raw("SELECT TABLE_NAME AS t, TABLE_COLLATION AS coll FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'", [name])) as [Array<{ t: string; coll: string }>];
  expect(tables.filter((t) => t.coll !== pinned)).toEqual([]);
  const [[schema]] = (await db.raw('SELECT DEFAULT_COLLATION_NAME AS coll FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [name])) as [[{ coll: string }]];
  expect(schema.coll).toBe(pinned);
});

test('a database created with the server default collation is pinned by the migrations too', async () => {
  // What an operator's own CREATE DATABASE gives (no COLLATE): the migration must not rely on
  // ensureDatabase having chosen the collation.
  const { db: first, name: scratch } = await r.database();
  const other = `${scratch}_d`;
  await first.raw(`CREATE DATABASE \`${other}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`);
  r.defer(() => first.raw(`DROP DATABASE IF EXISTS \`${other}\``));
  const { withDatabase } = await import('../../../runtime/config');
  const { createDb } = await import('../../../runtime/db/knex');
  const { migrateLatest } = await import('../../../runtime/db/migrate');
  const db = createDb(withDatabase(r.config.mysqlUrl, other), { pool: 2 });
  r.defer(() => db.destroy());
  await migrateLatest(db);
  const pinned = await binaryCollation(db);
  const [cols] = (await db.raw('SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND COLLATION_NAME IS NOT NULL AND COLLATION_NAME <> ?', [other, pinned])) as [[{ n: string | number }]];
  expect(Number(cols[0].n)).toBe(0);
  // And a table a later migration creates without naming a collation inherits it.
  await db.raw('CREATE TABLE later_table (ref VARCHAR(16) NOT NULL PRIMARY KEY)');
  await db('later_table').insert([{ ref: 'abc' }, { ref: 'ABC' }, { ref: 'abc ' }]);
  expect(await db('later_table').where({ ref: 'abc' }).select('ref')).toEqual([{ ref: 'abc' }]);
});
