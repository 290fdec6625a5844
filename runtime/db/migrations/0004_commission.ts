import type { Knex } from 'knex';

/**
 * Commission (issue 5): what each order was charged, and each clawback applied against it.
 *
 * - commission_rule gains `affiliate_share_bps`: the part of the fee credited to the order's
 *   affiliate. The default 10000 credits the affiliate the whole fee (the seller pays the
 *   affiliate through the marketplace); a lower share leaves the rest to the marketplace.
 * - commission_charge is the one row per order a CHARGE creates. A CLAWBACK reads it (under a row
 *   lock) to return commission in proportion to the refund, from the fee that was actually
 *   charged by the rule version recorded here, and never more than that fee in total.
 * - commission_clawback is one row per CLAWBACK request: its primary key is what makes a
 *   redelivered refund change nothing, even when the amount it clawed back was zero.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('commission_rule', (t) => {
    t.integer('affiliate_share_bps')
      .notNullable()
      .defaultTo(10000)
      .comment('0..10000 of the fee credited to the affiliate');
  });

  await knex.schema.createTable('commission_charge', (t) => {
    t.string('region', 2).notNullable();
    t.bigInteger('order_id').notNullable();
    t.bigInteger('shop_user_id').notNullable();
    t.bigInteger('affiliate_user_id').nullable();
    t.string('currency', 3).notNullable();
    t.string('request_id', 128)
      .notNullable()
      .comment('the CHARGE request (the completed order event id)');
    t.bigInteger('rule_id').notNullable();
    t.integer('rule_version').notNullable();
    t.string('rule_category', 64).notNullable().comment("the rule's category: the order's, or '*'");
    t.bigInteger('order_amount_minor').notNullable();
    t.bigInteger('fee_minor').notNullable().comment('charged to the seller, positive here');
    t.bigInteger('affiliate_credit_minor')
      .notNullable()
      .comment('credited to the affiliate; 0 without one');
    t.bigInteger('refunded_minor')
      .notNullable()
      .defaultTo(0)
      .comment('sum of the refunds seen, uncapped');
    t.bigInteger('fee_clawed_back_minor').notNullable().defaultTo(0);
    t.bigInteger('affiliate_clawed_back_minor').notNullable().defaultTo(0);
    t.specificType('created_at', 'DATETIME(3)')
      .notNullable()
      .defaultTo(knex.raw('CURRENT_TIMESTAMP(3)'));
    t.specificType('updated_at', 'DATETIME(3)')
      .notNullable()
      .defaultTo(knex.raw('CURRENT_TIMESTAMP(3)'));
    // One charge per order: a second CHARGE for the same order is a conflict, never a second fee.
    t.primary(['region', 'order_id']);
    t.index(['region', 'shop_user_id'], 'ix_commission_charge_seller');
  });

  await knex.schema.createTable('commission_clawback', (t) => {
    t.string('region', 2).notNullable();
    t.string('request_id', 128).notNullable().comment('the CLAWBACK request (the refund event id)');
    t.bigInteger('order_id').notNullable();
    t.bigInteger('refund_amount_minor').notNullable();
    t.bigInteger('fee_clawback_minor').notNullable();
    t.bigInteger('affiliate_clawback_minor').notNullable();
    t.specificType('created_at', 'DATETIME(3)')
      .notNullable()
      .defaultTo(knex.raw('CURRENT_TIMESTAMP(3)'));
    t.primary(['region', 'request_id']);
    t.index(['region', 'order_id'], 'ix_commission_clawback_order');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('commission_clawback');
  await knex.schema.dropTableIfExists('commission_charge');
  await knex.schema.alterTable('commission_rule', (t) => t.dropColumn('affiliate_share_bps'));
}
