import type { Knex } from 'knex';

/**
 * Payout files read a region's cycle one currency at a time, in id order, 10k payouts per page
 * (`WHERE region = ? AND cycle_id = ? AND currency = ? AND id > ? ORDER BY id LIMIT 10000`).
 * Without this index each page is either a filesort of the whole cycle or a primary-key walk
 * through every later payout of every region; with it a page is one index range in order.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('payout', (t) => {
    t.index(['region', 'cycle_id', 'currency', 'id'], 'ix_payout_file_page');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('payout', (t) => {
    t.dropIndex(['region', 'cycle_id', 'currency', 'id'], 'ix_payout_file_page');
  });
}
