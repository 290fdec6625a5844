import type { Knex } from 'knex';

/**
 * Upload ingestion (docs/DESIGN.md, lesson 4): an upload, its chunks as checkpoints, and its
 * rejected rows. A chunk's status flips to DONE in the same transaction as its billing items, so a
 * restarted processor skips exactly the chunks whose effects exist.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('upload', (t) => {
    t.bigInteger('id').primary().comment('snowflake id');
    t.string('file_name', 255).notNullable().comment('the name as given, for display only; never used as a path');
    t.specificType('sha256', 'CHAR(64)').notNullable();
    t.bigInteger('size_bytes').notNullable();
    t.string('stored_path', 512).notNullable().comment('relative to STS_DATA_DIR');
    t.string('status', 16).notNullable().comment('RECEIVING, PROCESSING, COMPLETED, CANCELLED, FAILED');
    t.bigInteger('total_rows').notNullable().defaultTo(0);
    t.integer('chunk_count').notNullable().defaultTo(0);
    t.integer('done_chunks').notNullable().defaultTo(0).comment('chunks whose rows are committed');
    t.bigInteger('accepted_rows').notNullable().defaultTo(0);
    t.bigInteger('rejected_rows').notNullable().defaultTo(0);
    t.bigInteger('duplicate_rows').notNullable().defaultTo(0);
    t.bigInteger('duplicate_of').nullable().comment('an earlier upload of the same bytes, when forced again');
    t.string('created_by', 64).notNullable();
    t.specificType('created_at', 'DATETIME(3)').notNullable().defaultTo(knex.raw('CURRENT_TIMESTAMP(3)'));
    t.specificType('published_at', 'DATETIME(3)').nullable().comment('all chunks are on the topic');
    t.specificType('finished_at', 'DATETIME(3)').nullable();
    t.index(['sha256'], 'ix_upload_sha256');
  });

  await knex.schema.createTable('upload_chunk', (t) => {
    t.bigInteger('upload_id').notNullable();
    t.integer('chunk_index').notNullable();
    t.bigInteger('first_row').notNullable();
    t.integer('row_count').notNullable();
    t.string('status', 16).notNullable().comment('PENDING, DONE, CANCELLED');
    t.integer('accepted_rows').notNullable().defaultTo(0);
    t.integer('rejected_rows').notNullable().defaultTo(0);
    t.integer('duplicate_rows').notNullable().defaultTo(0);
    t.specificType('done_at', 'DATETIME(3)').nullable();
    t.primary(['upload_id', 'chunk_index']);
  });

  await knex.schema.createTable('upload_reject', (t) => {
    t.bigInteger('upload_id').notNullable();
    t.bigInteger('row_number').notNullable().comment('1-based data row; the header is row 0');
    t.string('reason_code', 48).notNullable();
    t.string('message', 512).notNullable();
    t.specificType('raw', 'MEDIUMTEXT').notNullable().comment('the original CSV record (truncated past 64 KiB)');
    t.primary(['upload_id', 'row_number']);
  });

  // Lesson 2: a row naming an order must agree with the seller the ledger already has for it.
  await knex.schema.alterTable('billing_item', (t) => {
    t.index(['order_id'], 'ix_billing_item_order');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('billing_item', (t) => t.dropIndex(['order_id'], 'ix_billing_item_order'));
  for (const table of ['upload_reject', 'upload_chunk', 'upload']) await knex.schema.dropTableIfExists(table);
}
