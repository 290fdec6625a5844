import type { Knex } from 'knex';

/**
 * Settlement cycles, payouts, commission rules, seller holds and payout files
 * (docs/DESIGN.md, lessons 3 and 5). Keys lead with region and seller, as everywhere.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('settlement_cycle', (t) => {
    t.string('region', 2).notNullable();
    t.bigInteger('cycle_id').notNullable().comment('YYYYMMDD of the local Monday the cycle starts');
    t.specificType('starts_at', 'DATETIME(3)').notNullable().comment('UTC');
    t.specificType('cutoff_at', 'DATETIME(3)').notNullable().comment('UTC; the next Monday 00:00 local');
    t.string('status', 16).notNullable().comment('OPEN, CLOSING, CLOSED');
    t.specificType('closing_at', 'DATETIME(3)').nullable();
    t.specificType('closed_at', 'DATETIME(3)').nullable();
    t.primary(['region', 'cycle_id']);
  });

  await knex.schema.createTable('payout', (t) => {
    t.bigInteger('id').primary().comment('snowflake id; the gateway idempotency key and pain.001 EndToEndId');
    t.bigInteger('cycle_id').notNullable();
    t.string('region', 2).notNullable();
    t.bigInteger('shop_user_id').notNullable();
    t.string('currency', 3).notNullable();
    t.bigInteger('amount_minor').notNullable();
    t.string('status', 16).notNullable().comment('PENDING, ON_HOLD, CARRIED_FORWARD, SUBMITTED, PAID, FAILED');
    t.integer('attempts').notNullable().defaultTo(0);
    t.string('gateway_reference', 64).nullable();
    t.string('failure_code', 64).nullable();
    t.specificType('created_at', 'DATETIME(3)').notNullable().defaultTo(knex.raw('CURRENT_TIMESTAMP(3)'));
    t.specificType('updated_at', 'DATETIME(3)').notNullable().defaultTo(knex.raw('CURRENT_TIMESTAMP(3)'));
    t.specificType('decided_at', 'DATETIME(3)').nullable();
    // One payout per seller, currency and cycle: closing twice cannot create a second.
    t.unique(['region', 'cycle_id', 'shop_user_id', 'currency'], { indexName: 'uq_payout_seller_cycle' });
    t.index(['status', 'updated_at'], 'ix_payout_status');
  });

  await knex.schema.createTable('seller_hold', (t) => {
    t.string('region', 2).notNullable();
    t.bigInteger('shop_user_id').notNullable();
    t.string('reason', 255).notNullable();
    t.specificType('created_at', 'DATETIME(3)').notNullable().defaultTo(knex.raw('CURRENT_TIMESTAMP(3)'));
    t.primary(['region', 'shop_user_id']);
  });

  await knex.schema.createTable('commission_rule', (t) => {
    t.bigIncrements('id');
    t.string('region', 2).notNullable();
    t.string('category', 64).notNullable();
    t.integer('version').notNullable();
    t.integer('rate_bps').notNullable().comment('0..10000');
    t.bigInteger('min_minor').notNullable().defaultTo(0);
    t.bigInteger('max_minor').nullable().comment('null: no cap');
    t.specificType('effective_from', 'DATETIME(3)').notNullable().comment('UTC, inclusive');
    t.specificType('effective_to', 'DATETIME(3)').nullable().comment('UTC, exclusive; null: open-ended');
    t.string('created_by', 64).notNullable();
    t.specificType('created_at', 'DATETIME(3)').notNullable().defaultTo(knex.raw('CURRENT_TIMESTAMP(3)'));
    t.unique(['region', 'category', 'version'], { indexName: 'uq_commission_rule_version' });
  });

  await knex.schema.createTable('payout_file', (t) => {
    t.string('region', 2).notNullable();
    t.bigInteger('cycle_id').notNullable();
    t.string('currency', 3).notNullable();
    t.string('path', 512).notNullable().comment('relative to STS_DATA_DIR');
    t.specificType('sha256', 'CHAR(64)').notNullable();
    t.integer('tx_count').notNullable();
    t.bigInteger('ctrl_sum_minor').notNullable();
    t.string('status', 16).notNullable().comment('WRITTEN, RELEASED (verify passed)');
    t.specificType('created_at', 'DATETIME(3)').notNullable().defaultTo(knex.raw('CURRENT_TIMESTAMP(3)'));
    t.specificType('released_at', 'DATETIME(3)').nullable();
    t.primary(['region', 'cycle_id', 'currency']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['payout_file', 'commission_rule', 'seller_hold', 'payout', 'settlement_cycle']) await knex.schema.dropTableIfExists(table);
}
