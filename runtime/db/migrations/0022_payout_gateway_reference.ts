import type { Knex } from 'knex';

/**
 * An index on payout.gateway_reference, so `sts trace ref GW…` finds the payout a gateway transfer
 * paid: the reference is what a seller reads on a bank statement and quotes in a dispute, and
 * until now it could only be found by scanning every payout. Unique in practice (the gateway mints
 * one per execution) but not declared unique: the column is written from the gateway's answer,
 * and a second payout with a reference already seen must be recorded and found by recon's
 * gateway-report rule, not refused by the database.
 *
 * Adding a secondary index is an in-place online ALTER on MariaDB and on Galera; payouts are a
 * few per seller a week, so the build reads the table once.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('payout', (t) => t.index(['gateway_reference'], 'ix_payout_gateway_reference'));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('payout', (t) => t.dropIndex(['gateway_reference'], 'ix_payout_gateway_reference'));
}
