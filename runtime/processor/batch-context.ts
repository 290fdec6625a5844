import type { Knex } from '../db/knex';
import type { Logger } from '../logger';
import type { OutboxMessage, OutboxTopic, OutboxWriter } from '../outbox/outbox-writer';
import type { BatchContext } from './definition';

/**
 * Binds the outbox to the batch's transaction, so a handler cannot write an event outside the
 * transaction of the effect that caused it (an event for an effect that rolled back would be a
 * lie downstream teams act on).
 */
export function createBatchContext(
  trx: Knex.Transaction,
  outbox: OutboxWriter,
  logger: Logger,
): BatchContext {
  return {
    trx,
    logger,
    outbox: { add: <T>(to: OutboxTopic<T>, messages: Array<OutboxMessage<T>>) => outbox.add(trx, to, messages) },
  };
}
