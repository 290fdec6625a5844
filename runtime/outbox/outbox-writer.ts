import type { Knex } from 'knex';
import type { AvroCodec } from '../registry/avro-codec';
import type { RegistryClient } from '../registry/registry-client';
import { valueSubject } from '../topology/types';

/** One event to publish once the caller's transaction commits. */
export interface OutboxMessage {
  topic: string;
  /** Partition key: the seller's shop_user_id as a decimal string. */
  key: string;
  /** Stable, business-derived id; consumers deduplicate on it (header `sts-event-id`). */
  eventId: string;
  /** The record, in the shape of the topic's `<topic>-value` schema (longs as bigint). */
  value: unknown;
  headers?: Record<string, string>;
}

/**
 * Writes events into the `outbox` table inside the CALLER's transaction, so an event exists if
 * and only if the effect that caused it committed. Values are Avro-encoded here, against the
 * subject's latest schema, so a bad value fails the transaction instead of the relay.
 *
 * The unique `event_id` makes a redelivered batch's outbox rows no-ops (INSERT IGNORE).
 */
export class OutboxWriter {
  private readonly schemaIds = new Map<string, Promise<number>>();

  constructor(
    private readonly codec: AvroCodec,
    private readonly registry: RegistryClient,
  ) {}

  async add(trx: Knex.Transaction | Knex, messages: OutboxMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const rows = [];
    for (const m of messages) {
      const schemaId = await this.schemaIdFor(m.topic);
      rows.push({
        event_id: m.eventId,
        topic: m.topic,
        msg_key: m.key,
        payload: await this.codec.encode(schemaId, m.value),
        headers: m.headers ? JSON.stringify(m.headers) : null,
      });
    }
    for (let i = 0; i < rows.length; i += 1000) {
      await trx('outbox').insert(rows.slice(i, i + 1000)).onConflict('event_id').ignore();
    }
  }

  private schemaIdFor(topic: string): Promise<number> {
    let id = this.schemaIds.get(topic);
    if (!id) {
      id = this.registry.latestId(valueSubject(topic));
      this.schemaIds.set(topic, id);
      id.catch(() => this.schemaIds.delete(topic));
    }
    return id;
  }
}
