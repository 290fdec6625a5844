import type { Knex } from 'knex';

/**
 * `sts trace` ("why was this seller paid this much?", services/trace/) answers from stored facts
 * only, by indexed keys. Two of its answers were not stored anywhere, and four of its reads had no
 * index to go through:
 *
 * - billing_item.event_topic, event_partition, event_offset: the Kafka coordinates of the order
 *   event an ORDER item was booked from. The event id (source_ref) says which event, but not where
 *   to read it again; once the topic's retention or a .v2 topic moves on, nothing else would.
 *   The topic is kept per item because offsets restart on a new topic version.
 * - billing_item.upload_id, upload_row: the upload and 1-based data row an UPLOAD item came from
 *   (the row number upload_reject uses), so an item leads back to its line of the file. Only these
 *   two travel in an upload's bulk load.
 *   All five are NULL for other sources and for items booked before this migration.
 * - ix_ops_audit_target: the operator actions on a payout or a seller (ops_audit.target is the
 *   payout id or seller id of the route); without it the trace would read the whole audit log.
 * - ix_recon_finding_entity: the findings about an entity whatever their rule (uq_recon_finding
 *   leads with the rule).
 * - ix_bank_report_orgnl and ix_bank_report_issue_e2e: the bank's reports on a payout's file, and
 *   what a report said about the payout that changed nothing.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('billing_item', (t) => {
    t.string('event_topic', 249).nullable().comment('ORDER items: the topic of the order event');
    t.integer('event_partition').nullable();
    t.bigInteger('event_offset').nullable();
    t.bigInteger('upload_id').nullable().comment('UPLOAD items: upload.id');
    t.bigInteger('upload_row').nullable().comment('UPLOAD items: 1-based data row of the file');
  });
  await knex.schema.alterTable('ops_audit', (t) => t.index(['target', 'at'], 'ix_ops_audit_target'));
  await knex.schema.alterTable('recon_finding', (t) => t.index(['entity'], 'ix_recon_finding_entity'));
  await knex.schema.alterTable('bank_report', (t) => t.index(['orgnl_msg_id'], 'ix_bank_report_orgnl'));
  await knex.schema.alterTable('bank_report_issue', (t) => t.index(['end_to_end_id'], 'ix_bank_report_issue_e2e'));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('bank_report_issue', (t) => t.dropIndex(['end_to_end_id'], 'ix_bank_report_issue_e2e'));
  await knex.schema.alterTable('bank_report', (t) => t.dropIndex(['orgnl_msg_id'], 'ix_bank_report_orgnl'));
  await knex.schema.alterTable('recon_finding', (t) => t.dropIndex(['entity'], 'ix_recon_finding_entity'));
  await knex.schema.alterTable('ops_audit', (t) => t.dropIndex(['target', 'at'], 'ix_ops_audit_target'));
  await knex.schema.alterTable('billing_item', (t) => {
    for (const c of ['event_topic', 'event_partition', 'event_offset', 'upload_id', 'upload_row']) t.dropColumn(c);
  });
}
