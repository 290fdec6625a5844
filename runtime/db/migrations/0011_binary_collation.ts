import type { Knex } from 'knex';
import { binaryCollation } from '../collation';

/**
 * Byte-exact identifiers: every text column of every table, each table's default and the
 * database's default become utf8mb4 with a binary NO PAD collation (runtime/db/collation.ts says
 * why). Tables had the server default (utf8mb4_general_ci: 'abc' = 'ABC' = 'abc '), so two ids
 * JavaScript sees as different shared a unique key.
 *
 * CONVERT TO rewrites each table (a copy): binary collations only ever separate values the old one
 * merged, so no unique key can fail. Index sizes are unchanged (utf8mb4 before and after); the
 * widest unique key, dlq_replay's (249-character topic, partition, offset), is about 1 KB of the
 * 3072-byte InnoDB DYNAMIC limit.
 *
 * Tables created by later migrations take the database default; test/runtime/db/collation.test.ts fails
 * for any text column that does not.
 */
export async function up(knex: Knex): Promise<void> {
  const collation = await binaryCollation(knex);
  const [[db]] = (await knex.raw('SELECT DATABASE() AS name')) as [[{ name: string }]];
  await knex.raw(`ALTER DATABASE ?? CHARACTER SET utf8mb4 COLLATE ${collation}`, [db.name]);
  const [tables] = (await knex.raw(
    "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
  )) as [Array<{ name: string }>];
  for (const { name } of tables) {
    await knex.raw(`ALTER TABLE ?? CONVERT TO CHARACTER SET utf8mb4 COLLATE ${collation}`, [name]);
  }
}

/** Back to the server's default collation for utf8mb4, as the tables were created. */
export async function down(knex: Knex): Promise<void> {
  const [[db]] = (await knex.raw('SELECT DATABASE() AS name')) as [[{ name: string }]];
  await knex.raw('ALTER DATABASE ?? CHARACTER SET utf8mb4', [db.name]);
  const [tables] = (await knex.raw(
    "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
  )) as [Array<{ name: string }>];
  for (const { name } of tables) await knex.raw('ALTER TABLE ?? CONVERT TO CHARACTER SET utf8mb4', [name]);
}
