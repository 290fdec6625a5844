import { ValidationError } from '../../runtime/errors';
import { CommissionConflictError } from './commission-errors';
import type { SnowflakeGenerator } from '../../runtime/ids/snowflake';
import { appendBillingItems } from '../../runtime/billing/billing-ledger';
import { CycleResolver } from '../../runtime/billing/cycle-resolver';
import type { ProcessorDefinition } from '../../runtime/processor/definition';
import { applyCommissionBatch } from './commission-items';
import {
  COMMISSION_REQUESTS,
  validateCommissionRequest,
  type CommissionRequest,
} from '../../contracts/commission-request';
import { GROUPS } from '../../topologies/settlement';

/**
 * commission: each CHARGE request charges the seller the fee of the rule in effect when the order
 * completed (and credits the affiliate its share); each CLAWBACK returns the fee in proportion
 * to the refund. Items go through the billing ledger in the batch's transaction, with source
 * COMMISSION and source_ref `<request_id>:<part>`, so a redelivered batch changes nothing.
 *
 * Records it cannot apply go to the DLQ with a stable code, to be replayed once fixed:
 * STS_VALIDATION_FAILED (unknown region, currency of another region, non-positive amount or id),
 * STS_COMMISSION_RULE_MISSING (no rule, not even '*', at occurred_at),
 * STS_COMMISSION_CHARGE_UNKNOWN (a refund before its order's charge),
 * STS_COMMISSION_CONFLICT (a request that disagrees with the recorded charge or clawback).
 */
export function commission(
  ids: SnowflakeGenerator,
  topic: string = COMMISSION_REQUESTS.topic,
): ProcessorDefinition<CommissionRequest> {
  return {
    name: 'commission',
    group: GROUPS.commission,
    topic,
    readerSchema: COMMISSION_REQUESTS.readerSchema,
    validate: (request) => validateCommissionRequest(request),
    async handleBatch(ctx, records) {
      const deps = { resolver: new CycleResolver(ctx.trx), nextId: () => ids.next() };
      // A fixed number of queries per batch, whatever its size: the requests are applied in
      // offset order in memory, between one bulk read and one bulk write.
      const items = await applyCommissionBatch(
        ctx.trx,
        records.map((r) => r.value),
        deps,
      );
      const result = await appendBillingItems(ctx.trx, items);
      if (result.conflicts.length > 0) {
        const { item, existing } = result.conflicts[0]!;
        throw new CommissionConflictError(
          `billing item ${item.sourceRef} exists with other content (${existing.item_type} ${existing.amount_minor} for ${existing.shop_user_id})`,
          {
            sourceRef: item.sourceRef,
          },
        );
      }
      if (result.refused.length > 0) {
        // A line beyond a money bound: failing the batch makes the runtime isolate the request and
        // dead-letter it alone with this reason; its charge state rolls back with it, so a replay
        // (once the balance has room) applies it whole.
        const { item, code, reason } = result.refused[0]!;
        throw new ValidationError(`commission line ${item.sourceRef} refused (${code}): ${reason}`, {
          sourceRef: item.sourceRef,
          reason: code,
        });
      }
      ctx.logger.debug(
        {
          requests: records.length,
          inserted: result.inserted.length,
          duplicates: result.duplicates.length,
        },
        'commission applied',
      );
    },
  };
}
