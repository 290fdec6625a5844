import type { Knex } from 'knex';

/**
 * The close reads a cycle's accounts page by page (`WHERE region = ? AND cycle_id = ?` in seller
 * order) and reconciliation compares them cycle by cycle. The primary key leads with the seller,
 * so without this index every page walks the region's accounts of every cycle.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('settlement_account', (t) => {
    t.index(['region', 'cycle_id', 'shop_user_id', 'currency'], 'ix_settlement_account_cycle');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('settlement_account', (t) => t.dropIndex(['region', 'cycle_id', 'shop_user_id', 'currency'], 'ix_settlement_account_cycle'));
}
