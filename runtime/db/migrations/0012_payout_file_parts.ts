import type { Knex } from 'knex';

/**
 * A currency whose payouts total more than a pain.001 CtrlSum holds (18 digits) is written as
 * several files, parts 1..n (settlement/payout-file/payout-pages.ts, payableParts); each needs its
 * own payout_file row. Part 0 is the one file of a currency that is not split, as every row was
 * before, so existing rows keep their meaning.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('payout_file', (t) => {
    t.smallint('part').notNullable().defaultTo(0).after('currency').comment('1..n for a currency split into parts; 0 for its one file');
  });
  await knex.raw('ALTER TABLE payout_file DROP PRIMARY KEY, ADD PRIMARY KEY (region, cycle_id, currency, part)');
}

export async function down(knex: Knex): Promise<void> {
  await knex('payout_file').where('part', '>', 0).delete();
  await knex.raw('ALTER TABLE payout_file DROP PRIMARY KEY, ADD PRIMARY KEY (region, cycle_id, currency)');
  await knex.schema.alterTable('payout_file', (t) => {
    t.dropColumn('part');
  });
}
