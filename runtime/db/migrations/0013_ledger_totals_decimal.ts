import type { Knex } from 'knex';

/**
 * ledger_account's totals add up every payout ever made in a currency, across all cycles: nothing
 * bounds them the way the payout bound bounds one payout (runtime/money/money-bounds.ts). As
 * BIGINT they would overflow after about 92 payouts at the default bound of 10^17-1, failing every
 * payment after that on the upsert. DECIMAL(38,0) is exact integer arithmetic in MariaDB, reads
 * back as the same decimal text, and holds 10^20 payouts at the largest payout pain.001 allows.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    'ALTER TABLE ledger_account MODIFY debit_total DECIMAL(38,0) NOT NULL DEFAULT 0, MODIFY credit_total DECIMAL(38,0) NOT NULL DEFAULT 0',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(
    'ALTER TABLE ledger_account MODIFY debit_total BIGINT NOT NULL DEFAULT 0, MODIFY credit_total BIGINT NOT NULL DEFAULT 0',
  );
}
