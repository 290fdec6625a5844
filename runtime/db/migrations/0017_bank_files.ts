import type { Knex } from 'knex';
import { binaryCollation } from '../collation';

/**
 * The bank-file rail's transmissions (settlement/bank-file/):
 *
 * - bank_file: one pain.001 sent to the bank, named by its MsgId (unique per file and
 *   environment, which is also what the bank deduplicates on). Its status moves ASSIGNED (payouts
 *   chosen) -> WRITTEN (the file written atomically and verified against the database) ->
 *   SUBMITTED (its payouts TRIED in the payment ledger and SUBMITTED, in one transaction) ->
 *   TRANSMITTED (copied into the bank's outbound folder). Each step can be redone after a crash;
 *   the file is transmitted once.
 * - payout.bank_msg_id: the file a bank-file payout travels in; set once, never changed.
 * - payout_file.purpose: the cycle's own pain.001 files are a RECORD of what the close made
 *   payable, on either rail; they are never transmitted (a bank-file payout travels in a
 *   bank_file), so no payout can be in two files sent to a bank.
 * - bank_report: every pain.002 and camt.054 the bank sent, by its MsgId, applied exactly once
 *   (the row is written in the transaction that applies it).
 * - bank_debit: each debit a camt.054 booked, for reconciliation against the PAID payouts.
 * - bank_report_issue: what a report said that changed nothing because it cannot be right (an
 *   unknown EndToEndId, another amount or currency, a status contradicting an earlier one);
 *   reconciliation reports each as a finding.
 */
export async function up(knex: Knex): Promise<void> {
  // Named here because knex adds `DEFAULT CHARACTER SET utf8mb4` to CREATE TABLE, which would
  // otherwise give the charset's default collation instead of the database's (0011).
  const collation = await binaryCollation(knex);
  await knex.schema.createTable('bank_file', (t) => {
    t.charset('utf8mb4');
    t.collate(collation);
    t.string('msg_id', 35).primary();
    t.string('region', 2).notNullable();
    t.string('currency', 3).notNullable();
    t.string('status', 16).notNullable().comment('ASSIGNED, WRITTEN, SUBMITTED, TRANSMITTED');
    t.integer('tx_count').notNullable();
    t.bigInteger('ctrl_sum_minor').notNullable();
    t.string('path', 512).nullable().comment('relative to STS_DATA_DIR, once WRITTEN');
    t.specificType('sha256', 'CHAR(64)').nullable();
    t.specificType('created_at', 'DATETIME(3)').notNullable().comment("the file's CreDtTm");
    t.specificType('written_at', 'DATETIME(3)').nullable();
    t.specificType('submitted_at', 'DATETIME(3)').nullable();
    t.specificType('transmitted_at', 'DATETIME(3)').nullable();
    t.string('bank_status', 8).nullable().comment("the bank's last group status: ACCP, PART, ACSC, RJCT");
    t.index(['status', 'region'], 'ix_bank_file_status');
  });
  await knex.schema.createTable('bank_report', (t) => {
    t.charset('utf8mb4');
    t.collate(collation);
    t.string('msg_id', 35).primary().comment("the report's own MsgId");
    t.string('kind', 16).notNullable().comment('pain.002 or camt.054');
    t.string('orgnl_msg_id', 35).nullable().comment('the bank_file it answers (pain.002)');
    t.string('group_status', 8).nullable();
    t.string('file_name', 255).notNullable();
    t.specificType('sha256', 'CHAR(64)').notNullable();
    t.text('summary').notNullable().comment('JSON: counts by outcome');
    t.specificType('applied_at', 'DATETIME(3)').notNullable().defaultTo(knex.raw('CURRENT_TIMESTAMP(3)'));
  });
  await knex.schema.createTable('bank_debit', (t) => {
    t.charset('utf8mb4');
    t.collate(collation);
    t.string('report_msg_id', 35).notNullable();
    t.string('end_to_end_id', 35).notNullable();
    t.string('orgnl_msg_id', 35).nullable();
    t.string('currency', 3).notNullable();
    t.bigInteger('amount_minor').notNullable();
    t.specificType('booked_on', 'DATE').nullable();
    t.primary(['report_msg_id', 'end_to_end_id']);
    t.index(['end_to_end_id'], 'ix_bank_debit_e2e');
  });
  await knex.schema.createTable('bank_report_issue', (t) => {
    t.charset('utf8mb4');
    t.collate(collation);
    t.bigIncrements('id');
    t.string('report_msg_id', 35).notNullable();
    t.string('end_to_end_id', 35).nullable();
    t.string('kind', 32).notNullable().comment('UNKNOWN_END_TO_END_ID, AMOUNT_MISMATCH, STATUS_CONFLICT, UNKNOWN_FILE, DUPLICATE_FILE');
    t.string('detail', 512).notNullable();
    t.specificType('created_at', 'DATETIME(3)').notNullable().defaultTo(knex.raw('CURRENT_TIMESTAMP(3)'));
    t.unique(['report_msg_id', 'end_to_end_id', 'kind'], { indexName: 'uq_bank_report_issue' });
  });
  await knex.schema.alterTable('payout', (t) => {
    t.string('bank_msg_id', 35).nullable().comment('bank_file.msg_id of a bank-file payout');
    t.index(['bank_msg_id', 'id'], 'ix_payout_bank_file');
    // The sender's read: PENDING bank-file payouts not yet in a file, per region, in id order.
    t.index(['rail', 'status', 'region', 'id'], 'ix_payout_rail_status');
  });
  await knex.schema.alterTable('payout_file', (t) => {
    t.string('purpose', 16).notNullable().defaultTo('RECORD').comment('RECORD: never transmitted');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('payout_file', (t) => t.dropColumn('purpose'));
  await knex.schema.alterTable('payout', (t) => {
    t.dropIndex(['bank_msg_id', 'id'], 'ix_payout_bank_file');
    t.dropIndex(['rail', 'status', 'region', 'id'], 'ix_payout_rail_status');
    t.dropColumn('bank_msg_id');
  });
  for (const table of ['bank_report_issue', 'bank_debit', 'bank_report', 'bank_file']) await knex.schema.dropTableIfExists(table);
}
