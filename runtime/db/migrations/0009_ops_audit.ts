import type { Knex } from 'knex';

/**
 * Every operator action through the ops API or the CLI: who, what, when, with what input and
 * outcome. Append-only; never updated.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('ops_audit', (t) => {
    t.bigIncrements('id');
    t.specificType('at', 'DATETIME(3)').notNullable().defaultTo(knex.raw('CURRENT_TIMESTAMP(3)'));
    t.string('actor', 64).notNullable().comment('token name (api:<name>) or OS user (cli:<user>)');
    t.string('role', 16).nullable();
    t.string('action', 64).notNullable().comment('upload, upload.cancel, cycle.close, dlq.replay, recon.fix, rule.add, ...');
    t.string('target', 255).nullable();
    t.text('detail').nullable().comment('JSON: input and outcome; never a token');
    t.smallint('status').nullable().comment('HTTP status of the API call');
    t.index(['at'], 'ix_ops_audit_at');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('ops_audit');
}
