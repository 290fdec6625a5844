import type { SnowflakeGenerator } from '../../runtime/ids/snowflake';
import { appendBillingItems } from '../../runtime/ledger/billing-ledger';
import type { ProcessorDefinition } from '../../runtime/processor/definition';
import type { OrderEvent } from './order-event';
import { orderEventToItem, validateOrderEvent } from './order-to-item';

/**
 * settlement-aggregation: each order event becomes one billing item and moves its seller's running
 * balance, in the batch's transaction (DESIGN lesson 3: aggregate as events arrive, so a cycle
 * close only snapshots balances that already exist).
 */
export function settlementAggregation(ids: SnowflakeGenerator, topic = 'sts.order-events.v1'): ProcessorDefinition<OrderEvent> {
  return {
    name: 'settlement-aggregation',
    group: 'sts.settlement-aggregation',
    topic,
    validate: (event) => validateOrderEvent(event),
    async handleBatch(ctx, records) {
      const items = records.map((r) => orderEventToItem(r.value, ids.next()));
      const result = await appendBillingItems(ctx.trx, items);
      ctx.logger.debug({ inserted: result.inserted.length, duplicates: result.duplicates.length }, 'order events applied');
    },
  };
}
