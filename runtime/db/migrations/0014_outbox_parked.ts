import type { Knex } from 'knex';

/**
 * An outbox row that can never be published (larger than the broker accepts, or headers that are
 * not JSON) used to be retried forever, holding every row queued after it. The relay now parks
 * it: `parked_at` and `park_reason` say when and why, and the row stays unpublished (recon's
 * outbox-stuck rule keeps reporting it) until an operator fixes it and clears `parked_at`. Later
 * rows of the same topic and key are parked behind it, so a key's events never overtake each
 * other. ix_outbox_parked serves the relay's per-run lookup of the keys held that way.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('outbox', (t) => {
    t.specificType('parked_at', 'DATETIME(3)').nullable().comment('set when the relay gave up on the row; see park_reason');
    t.string('park_reason', 1000).nullable();
    t.index(['parked_at', 'topic', 'msg_key'], 'ix_outbox_parked');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('outbox', (t) => {
    t.dropIndex(['parked_at', 'topic', 'msg_key'], 'ix_outbox_parked');
    t.dropColumn('park_reason');
    t.dropColumn('parked_at');
  });
}
