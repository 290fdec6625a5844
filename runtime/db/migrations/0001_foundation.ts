import type { Knex } from 'knex';

/**
 * Core tables. Portable MySQL only (no procedures, no triggers), every money column BIGINT minor
 * units, and keys that lead with region and seller so the schema can move to a MySQL-compatible
 * distributed engine unchanged.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('billing_item', (t) => {
    t.bigInteger('id').primary().comment('snowflake id from a leased worker');
    t.string('region', 2).notNullable();
    t.bigInteger('shop_user_id').notNullable();
    t.string('currency', 3).notNullable();
    t.bigInteger('amount_minor').notNullable();
    t.string('item_type', 32).notNullable();
    t.string('source', 16).notNullable().comment('ORDER, UPLOAD, COMMISSION, CARRY_FORWARD');
    t.string('source_ref', 128).notNullable().comment('event id, external_ref, ... : the idempotency key');
    t.bigInteger('order_id').nullable();
    t.bigInteger('cycle_id').nullable();
    t.boolean('late').notNullable().defaultTo(false);
    t.string('memo', 255).nullable();
    t.specificType('created_at', 'DATETIME(3)').notNullable().defaultTo(knex.raw('CURRENT_TIMESTAMP(3)'));
    // The last line of defence against a duplicate effect: one item per business key.
    t.unique(['region', 'source', 'source_ref'], { indexName: 'uq_billing_item_source' });
    t.index(['region', 'shop_user_id', 'cycle_id'], 'ix_billing_item_seller');
  });

  await knex.schema.createTable('settlement_account', (t) => {
    t.string('region', 2).notNullable();
    t.bigInteger('shop_user_id').notNullable();
    t.string('currency', 3).notNullable();
    t.bigInteger('cycle_id').notNullable();
    t.bigInteger('balance_minor').notNullable().defaultTo(0);
    t.bigInteger('item_count').notNullable().defaultTo(0);
    t.specificType('updated_at', 'DATETIME(3)').notNullable().defaultTo(knex.raw('CURRENT_TIMESTAMP(3)'));
    t.primary(['region', 'shop_user_id', 'currency', 'cycle_id']);
  });

  await knex.schema.createTable('outbox', (t) => {
    t.bigIncrements('id');
    t.string('event_id', 64).notNullable().unique().comment('stable id, sent as the sts-event-id header');
    t.string('topic', 200).notNullable();
    t.string('msg_key', 64).notNullable();
    t.specificType('payload', 'MEDIUMBLOB').notNullable().comment('Confluent-framed Avro');
    t.text('headers').nullable().comment('JSON object of extra headers');
    t.specificType('created_at', 'DATETIME(3)').notNullable().defaultTo(knex.raw('CURRENT_TIMESTAMP(3)'));
    t.specificType('published_at', 'DATETIME(3)').nullable();
    t.index(['published_at', 'id'], 'ix_outbox_pending');
  });

  await knex.schema.createTable('id_worker_lease', (t) => {
    t.integer('datacenter_id').notNullable();
    t.integer('worker_id').notNullable();
    t.string('owner', 128).nullable();
    t.specificType('lease_until', 'DATETIME(3)').notNullable();
    t.bigInteger('fence').notNullable().defaultTo(0).comment('bumped on every new lease');
    t.primary(['datacenter_id', 'worker_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['id_worker_lease', 'outbox', 'settlement_account', 'billing_item']) {
    await knex.schema.dropTableIfExists(table);
  }
}
