import type { Knex } from 'knex';

/**
 * DLQ replays (`sts dlq replay`, POST /dlq/replay). One row per dead letter replayed, keyed by its
 * DLQ coordinates: the row is inserted in the same transaction that publishes the replay, so a
 * second replay of the same coordinate, concurrent or later, hits the primary key and is skipped.
 * A crash after the publish and before the commit leaves no row, and a rerun publishes again;
 * the processors' idempotency keys make that second copy a no-op.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('dlq_replay', (t) => {
    t.string('dlq_topic', 249).notNullable();
    t.integer('dlq_partition').notNullable();
    t.bigInteger('dlq_offset').notNullable();
    t.string('original_topic', 249).notNullable().comment('where the replay was published');
    t.integer('original_partition').notNullable();
    t.bigInteger('original_offset').nullable().comment('from the sts-original-offset header');
    t.bigInteger('replay_offset')
      .nullable()
      .comment('offset of the replayed copy on original_topic');
    t.string('replayed_by', 128).notNullable();
    t.specificType('replayed_at', 'DATETIME(3)')
      .notNullable()
      .defaultTo(knex.raw('CURRENT_TIMESTAMP(3)'));
    t.primary(['dlq_topic', 'dlq_partition', 'dlq_offset']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('dlq_replay');
}
