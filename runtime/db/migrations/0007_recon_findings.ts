import type { Knex } from 'knex';

/**
 * Reconciliation (issue 7; docs/DESIGN.md, lesson 10): what the rules found, and the index they
 * read billing items through.
 *
 * - recon_finding: one row per (rule, entity). A run upserts what it found (first_seen kept,
 *   last_seen bumped) and stamps resolved_at on what it no longer finds; a finding that comes back
 *   after it was resolved is reopened with a new first_seen. alerted_at is set once the webhook
 *   took a CRITICAL finding, so a failed delivery is retried on the next run and a kept finding
 *   is never alerted twice. (resolved_at, rule) serves the open-findings list and the gauge.
 * - ix_billing_item_cycle: the balance rules sum a whole cycle per seller and currency
 *   (`WHERE region = ? AND cycle_id = ? GROUP BY shop_user_id, currency`). ix_billing_item_seller
 *   leads with the seller, so without this index that query reads every item of the region, of
 *   every cycle. With it the query is one index range in group order, and amount_minor in the
 *   index makes it covering: no row lookups, so a cycle of ten million items is read sequentially.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('recon_finding', (t) => {
    t.bigIncrements('id');
    t.string('rule', 48).notNullable();
    t.string('severity', 8).notNullable().comment('INFO, WARNING, CRITICAL');
    t.string('entity', 255)
      .notNullable()
      .comment('what it is about, e.g. SG/20261116/652024209997893632/SGD');
    t.string('detail', 1024).notNullable();
    t.string('fix', 48)
      .nullable()
      .comment('a documented fix an operator can trigger (sts recon fix)');
    t.specificType('first_seen', 'DATETIME(3)').notNullable();
    t.specificType('last_seen', 'DATETIME(3)').notNullable();
    t.specificType('resolved_at', 'DATETIME(3)').nullable();
    t.specificType('alerted_at', 'DATETIME(3)').nullable();
    t.unique(['rule', 'entity'], { indexName: 'uq_recon_finding' });
    t.index(['resolved_at', 'rule'], 'ix_recon_finding_open');
  });

  await knex.schema.alterTable('billing_item', (t) => {
    t.index(
      ['region', 'cycle_id', 'shop_user_id', 'currency', 'amount_minor'],
      'ix_billing_item_cycle',
    );
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('billing_item', (t) =>
    t.dropIndex(
      ['region', 'cycle_id', 'shop_user_id', 'currency', 'amount_minor'],
      'ix_billing_item_cycle',
    ),
  );
  await knex.schema.dropTableIfExists('recon_finding');
}
