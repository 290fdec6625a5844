import type { Knex } from 'knex';

/**
 * Paying payouts exactly once (issue 6; docs/DESIGN.md, lesson 6): a double-entry ledger moved by
 * TCC (try, confirm, cancel), and what payment-notify records about each submission.
 *
 * - ledger_account: running debit and credit totals per currency and account. Every movement adds
 *   the same amount to one account's debits and another's credits, so per currency the sum of
 *   debit_total always equals the sum of credit_total.
 * - fund_movement: one row per phase of a money transaction (tx_id = the payout id). The primary
 *   key (tx_id, phase) makes a phase apply once; `resolves_tx_id` is set only on CONFIRM and CANCEL
 *   rows, and its unique key makes the two mutually exclusive in the schema itself, beneath the
 *   state check the writer does under a row lock.
 * - tcc_state: one row per money transaction, TRIED until it is CONFIRMED or CANCELLED. Writers
 *   lock it (SELECT ... FOR UPDATE) before resolving, so two resolvers serialise on it.
 * - payout_submission: what payment-notify sent for a payout (the payee account is frozen here,
 *   because the gateway refuses the same Idempotency-Key with another body), where the payout
 *   event came from (for the DLQ), and whether ops were alerted.
 * - seller_payee_account: a seller's payee account at the gateway; without a row the seller's
 *   shop_user_id is the payee reference, as in the payout file's creditor id.
 * - payout gets (status, id), so the compensator's sweep of SUBMITTED payouts is one index range.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('ledger_account', (t) => {
    t.string('currency', 3).notNullable();
    t.string('account', 32)
      .notNullable()
      .comment('SELLER_SETTLEMENT, PAYOUT_IN_FLIGHT, BANK_CLEARING, SYSTEM');
    t.bigInteger('debit_total').notNullable().defaultTo(0);
    t.bigInteger('credit_total').notNullable().defaultTo(0);
    t.specificType('updated_at', 'DATETIME(3)')
      .notNullable()
      .defaultTo(knex.raw('CURRENT_TIMESTAMP(3)'));
    t.primary(['currency', 'account']);
  });

  await knex.schema.createTable('fund_movement', (t) => {
    t.bigInteger('tx_id').notNullable().comment('the payout id');
    t.string('phase', 8).notNullable().comment('ACCRUE, TRY, CONFIRM, CANCEL');
    t.string('debit_account', 32).notNullable();
    t.string('credit_account', 32).notNullable();
    t.string('currency', 3).notNullable();
    t.bigInteger('amount_minor').notNullable().comment('positive, minor units');
    t.bigInteger('resolves_tx_id').nullable().comment('tx_id on CONFIRM and CANCEL rows only');
    t.specificType('created_at', 'DATETIME(3)')
      .notNullable()
      .defaultTo(knex.raw('CURRENT_TIMESTAMP(3)'));
    t.primary(['tx_id', 'phase']);
    t.unique(['resolves_tx_id'], { indexName: 'uq_fund_movement_resolution' });
  });

  await knex.schema.createTable('tcc_state', (t) => {
    t.bigInteger('tx_id').primary();
    t.string('currency', 3).notNullable();
    t.bigInteger('amount_minor').notNullable();
    t.string('state', 16).notNullable().comment('TRIED, CONFIRMED, CANCELLED');
    t.specificType('created_at', 'DATETIME(3)')
      .notNullable()
      .defaultTo(knex.raw('CURRENT_TIMESTAMP(3)'));
    t.specificType('resolved_at', 'DATETIME(3)').nullable();
  });

  await knex.schema.createTable('payout_submission', (t) => {
    t.bigInteger('payout_id').primary();
    t.string('payee_account', 64)
      .notNullable()
      .comment('sent to the gateway; never changes after the first send');
    t.string('source_topic', 200).notNullable();
    t.integer('source_partition').notNullable();
    t.bigInteger('source_offset').notNullable();
    t.specificType('created_at', 'DATETIME(3)')
      .notNullable()
      .defaultTo(knex.raw('CURRENT_TIMESTAMP(3)'));
    t.specificType('escalated_at', 'DATETIME(3)')
      .nullable()
      .comment('ops alerted and the payout dead-lettered');
    t.string('escalation_code', 64).nullable();
    t.boolean('blocked').notNullable().defaultTo(false).comment('the compensator leaves it to ops');
  });

  await knex.schema.createTable('seller_payee_account', (t) => {
    t.string('region', 2).notNullable();
    t.bigInteger('shop_user_id').notNullable();
    t.string('account', 64).notNullable();
    t.primary(['region', 'shop_user_id']);
  });

  await knex.schema.alterTable('payout', (t) => {
    t.index(['status', 'id'], 'ix_payout_status_id');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('payout', (t) =>
    t.dropIndex(['status', 'id'], 'ix_payout_status_id'),
  );
  for (const table of [
    'seller_payee_account',
    'payout_submission',
    'tcc_state',
    'fund_movement',
    'ledger_account',
  ])
    await knex.schema.dropTableIfExists(table);
}
