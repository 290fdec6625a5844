import type { Knex } from 'knex';
import { binaryCollation } from '../collation';

/**
 * Payout rails and the payee registry (runtime/payouts/payout-rails.ts, runtime/payees/).
 *
 * - payee_account: every version of a seller's payee account per currency, never updated but for
 *   `replaced_at` when a newer version arrives: holder name, account (an IBAN where the account's
 *   country uses one, else a plain account number), bank (BIC or a local clearing code), country,
 *   who changed it and when. The current version is the one with no replaced_at.
 * - payout.rail: the rail the close chose from STS_PAYOUT_RAILS; only that rail pays the payout.
 * - payout.payee_account_id: the payee version the payout is made to, frozen at the close (or at
 *   release); a later change of the seller's account never redirects a payout already made.
 * - payout.hold_reason: why an ON_HOLD payout waits (SELLER_HOLD, NO_PAYEE_ACCOUNT, PAYEE_CHANGED,
 *   CARRY_LIMIT); hold_decided_by and hold_decided_at say who released or cancelled it, and when.
 *   A released payout is not in its cycle's payout file, which was written while it was held.
 * - seller_payee_account is dropped: it held a bare gateway reference per seller, with no holder
 *   name or bank, which no rail can pay to; payees are registered with `sts payees set`.
 */
export async function up(knex: Knex): Promise<void> {
  // Named here because knex adds `DEFAULT CHARACTER SET utf8mb4` to CREATE TABLE, which would
  // otherwise give the charset's default collation instead of the database's (0011).
  const collation = await binaryCollation(knex);
  await knex.schema.createTable('payee_account', (t) => {
    t.charset('utf8mb4');
    t.collate(collation);
    t.bigIncrements('id');
    t.bigInteger('shop_user_id').notNullable();
    t.string('currency', 3).notNullable();
    t.integer('version').notNullable().comment('1 for the first account, +1 for each change');
    t.string('holder_name', 140).notNullable();
    t.string('account', 34).notNullable().comment('IBAN (no spaces) or account number');
    t.string('account_scheme', 8).notNullable().comment('IBAN or OTHER');
    t.string('bank_id', 35).notNullable();
    t.string('bank_scheme', 8).notNullable().comment('BIC or CLEARING');
    t.string('country', 2).notNullable().comment("ISO 3166 country of the account's bank");
    t.string('changed_by', 64).notNullable().comment('api:<token name> or cli:<user>');
    t.specificType('created_at', 'DATETIME(3)').notNullable().defaultTo(knex.raw('CURRENT_TIMESTAMP(3)'));
    t.specificType('replaced_at', 'DATETIME(3)').nullable();
    t.unique(['shop_user_id', 'currency', 'version'], { indexName: 'uq_payee_account_version' });
    // The close reads the current accounts of a page of sellers as one range.
    t.index(['currency', 'shop_user_id'], 'ix_payee_account_currency_seller');
  });
  await knex.schema.alterTable('payout', (t) => {
    t.string('rail', 16).notNullable().defaultTo('gateway').after('status').comment('gateway or bank-file');
    t.string('hold_reason', 32).nullable().after('rail');
    t.bigInteger('payee_account_id').nullable().after('hold_reason').comment('payee_account.id, frozen');
    t.string('hold_decided_by', 64).nullable();
    t.specificType('hold_decided_at', 'DATETIME(3)').nullable();
  });
  await knex.schema.dropTableIfExists('seller_payee_account');
}

export async function down(knex: Knex): Promise<void> {
  const collation = await binaryCollation(knex);
  await knex.schema.createTable('seller_payee_account', (t) => {
    t.charset('utf8mb4');
    t.collate(collation);
    t.string('region', 2).notNullable();
    t.bigInteger('shop_user_id').notNullable();
    t.string('account', 64).notNullable();
    t.primary(['region', 'shop_user_id']);
  });
  await knex.schema.alterTable('payout', (t) => {
    for (const c of ['rail', 'hold_reason', 'payee_account_id', 'hold_decided_by', 'hold_decided_at']) t.dropColumn(c);
  });
  await knex.schema.dropTableIfExists('payee_account');
}
