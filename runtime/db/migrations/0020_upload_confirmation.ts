import type { Knex } from 'knex';
import { binaryCollation } from '../collation';

/**
 * Uploads held for an operator (services/uploads/upload-checks.ts): a file past a check stops in
 * AWAITING_CONFIRMATION, with nothing published and nothing booked, until `sts upload confirm`.
 *
 * - upload.status grows to 24 characters for AWAITING_CONFIRMATION.
 * - upload.warning_count, confirmed_by, confirmed_at: what the checks found and who let it
 *   proceed (the confirmation itself is also in ops_audit, with the warnings).
 * - upload_warning: each warning, one row, amounts in minor units of its currency beside the text
 *   an operator reads. Written with the upload row, never changed.
 */
export async function up(knex: Knex): Promise<void> {
  // Named, as in 0017: a column or table knex writes would otherwise get the charset's default
  // collation instead of the database's binary one (0011).
  const collation = await binaryCollation(knex);
  await knex.raw(
    `ALTER TABLE upload MODIFY status VARCHAR(24) CHARACTER SET utf8mb4 COLLATE ${collation} NOT NULL COMMENT 'AWAITING_CONFIRMATION, RECEIVING, PROCESSING, COMPLETED, CANCELLED, FAILED'`,
  );
  await knex.schema.alterTable('upload', (t) => {
    t.integer('warning_count').notNullable().defaultTo(0);
    t.string('confirmed_by', 64).nullable().comment('who confirmed its warnings: api:<name> or cli:<user>');
    t.specificType('confirmed_at', 'DATETIME(3)').nullable();
  });
  await knex.schema.createTable('upload_warning', (t) => {
    t.charset('utf8mb4');
    t.collate(collation);
    t.bigInteger('upload_id').notNullable();
    t.integer('seq').notNullable().comment('order of display: most severe first within a code');
    t.string('code', 32).notNullable().comment('SELLER_TOTAL_ABOVE_HISTORY, ROW_ABOVE_HISTORY, TOO_MANY_SELLERS, TOO_MUCH_MONEY');
    t.string('region', 2).nullable();
    t.string('currency', 3).nullable();
    t.bigInteger('shop_user_id').nullable();
    t.bigInteger('row_number').nullable();
    t.bigInteger('amount_minor').nullable().comment('what the file has: a seller total, a row, a currency total');
    t.bigInteger('history_minor').nullable().comment("the seller's history figure the bound is made from");
    t.bigInteger('bound_minor').nullable().comment('the bound the amount passed');
    t.bigInteger('count').nullable().comment('sellers, for TOO_MANY_SELLERS and for a summary of further sellers');
    t.string('message', 512).notNullable();
    t.primary(['upload_id', 'seq']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('upload_warning');
  await knex.schema.alterTable('upload', (t) => {
    t.dropColumn('confirmed_at');
    t.dropColumn('confirmed_by');
    t.dropColumn('warning_count');
  });
  const collation = await binaryCollation(knex);
  await knex.raw(`ALTER TABLE upload MODIFY status VARCHAR(16) CHARACTER SET utf8mb4 COLLATE ${collation} NOT NULL`);
}
