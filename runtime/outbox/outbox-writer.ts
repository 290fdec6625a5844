import type { Knex } from 'knex';
import { escape } from 'mysql2';
import { codePointLength } from '../edge-limits';
import { OutboxIdInvalidError } from './outbox-errors';
import type { AvroCodec } from '../registry/avro-codec';
import type { RegistryClient } from '../registry/registry-client';
import { PromiseCache } from '../registry/promise-cache';
import { valueSubject } from '../topology/types';

const ROWS_PER_INSERT = 1000;
/** Column sizes of outbox (runtime/db/migrations/0001_foundation.ts), in characters. */
const OUTBOX_LIMITS = { eventId: 64, key: 64, topic: 200 } as const;

/**
 * Where outbox messages go and, through `T`, what they hold. Every contract in contracts/ is one
 * (its topic and its value type), so a producer can only write a contract's own value type to its
 * topic; outboxTopic() names another topic with the same type (a test's or a benchmark's).
 */
export interface OutboxTopic<T> {
  readonly topic: string;
  /** Never set: it only carries `T`. */
  readonly _value?: T;
}

export const outboxTopic = <T>(topic: string): OutboxTopic<T> => ({ topic });

/** One event to publish once the caller's transaction commits. */
export interface OutboxMessage<T> {
  /** Partition key: the seller's shop_user_id as a decimal string. */
  key: string;
  /** Stable, business-derived id; consumers deduplicate on it (header `sts-event-id`). */
  eventId: string;
  /** The record, in the shape of the topic's `<topic>-value` schema (longs as bigint). */
  value: T;
  headers?: Record<string, string>;
}

/**
 * Writes events into the `outbox` table inside the CALLER's transaction, so an event exists if
 * and only if the effect that caused it committed. Values are Avro-encoded here, against the
 * subject's latest schema, so a bad value fails the transaction instead of the relay.
 *
 * The unique `event_id` makes a redelivered batch's outbox rows no-ops: `ON DUPLICATE KEY UPDATE
 * id = id` on that key (the only unique key a new row can hit; `id` is never given). Not INSERT
 * IGNORE: IGNORE also turns "too long for the column" into a warning, and an event id cut to 64
 * characters then matched another event's and its effect was dropped as a "duplicate". Ids that
 * do not fit are refused here, before any SQL, and strict mode would refuse them again.
 */
export class OutboxWriter {
  private readonly schemaIds = new PromiseCache<string, number>();

  constructor(
    private readonly codec: AvroCodec,
    private readonly registry: RegistryClient,
  ) {}

  async add<T>(trx: Knex.Transaction | Knex, to: OutboxTopic<T>, messages: Array<OutboxMessage<T>>): Promise<void> {
    if (messages.length === 0) return;
    const topic = to.topic;
    fits('topic', topic, 1, OUTBOX_LIMITS.topic, topic);
    const encode = await this.codec.encoderFor(await this.schemaIdFor(topic));
    const quotedTopic = escape(topic);
    const rows = new Array<string>(messages.length);
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      fits('event id', m.eventId, 1, OUTBOX_LIMITS.eventId, topic);
      fits('key', m.key, 0, OUTBOX_LIMITS.key, topic);
      const headers = m.headers ? escape(JSON.stringify(m.headers)) : 'NULL';
      rows[i] = `(${escape(m.eventId)},${quotedTopic},${escape(m.key)},X'${encode(m.value).toString('hex')}',${headers})`;
    }
    // The statement text is built here: knex's insert builder and mysql2's placeholder formatting
    // cost more CPU per row than the insert itself at a million events. Text goes through mysql2's
    // own escaping (what its placeholders apply); the payload is hex, which needs none.
    for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
      await trx.raw(`INSERT INTO outbox (event_id, topic, msg_key, payload, headers) VALUES ${rows.slice(i, i + ROWS_PER_INSERT).join(',')} ON DUPLICATE KEY UPDATE id = id`);
    }
  }

  private schemaIdFor(topic: string): Promise<number> {
    return this.schemaIds.get(topic, () => this.registry.latestId(valueSubject(topic)));
  }
}

/** An id that would not fit its column is a bug in whoever derived it: never cut it short. */
function fits(field: string, value: string, min: number, max: number, topic: string): void {
  // A string has at most as many code points as UTF-16 units and at least half as many, so most
  // values are decided without counting.
  if (value.length <= max && value.length >= 2 * min) return;
  const length = codePointLength(value);
  if (length < min || length > max) throw new OutboxIdInvalidError(field, length, min, max, value, topic);
}
