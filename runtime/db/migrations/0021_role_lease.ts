import type { Knex } from 'knex';
import { binaryCollation } from '../collation';

/**
 * role_lease: one row per exclusive role (the outbox relay, a region's close, reconciliation, the
 * bank sender, the periodic roles of single-active.ts), leased by runtime/db/lease.ts.
 *
 * Why a table and not MySQL named locks: a named lock lives on one server. A multi-primary Galera
 * cluster does not replicate it, and distributed MySQL-compatible engines restrict or lack it, so
 * two relays (or two closes) connected to two nodes would each hold "the" lock. A row is
 * replicated like any other, its token fences the holder's writes, and two writes to it from two
 * nodes conflict in certification.
 *
 * - token: bumped on every acquisition, never reset (rows are never deleted): the fencing token.
 * - expires_at: compared with the database clock (NOW(3)) only; expired or released is free.
 * - fenced_writes: bumped by every fenced write, so such a write always changes the row (an
 *   UPDATE that changes nothing takes no part in Galera's certification).
 */
export async function up(knex: Knex): Promise<void> {
  const collation = await binaryCollation(knex);
  await knex.schema.createTable('role_lease', (t) => {
    t.charset('utf8mb4');
    t.collate(collation);
    t.string('name', 64).notNullable().primary().comment('the role, e.g. sts.outbox-relay, sts.close.SG');
    t.string('holder', 128).notNullable().comment('host:pid#random of the instance that took it last');
    t.bigInteger('token').notNullable().comment('fencing token: bumped on every acquisition');
    t.specificType('expires_at', 'DATETIME(3)').notNullable().comment('free once NOW(3) reaches it');
    t.specificType('acquired_at', 'DATETIME(3)').notNullable();
    t.specificType('renewed_at', 'DATETIME(3)').notNullable();
    t.bigInteger('fenced_writes').notNullable().defaultTo(0).comment('transactions committed under a fence');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('role_lease');
}
