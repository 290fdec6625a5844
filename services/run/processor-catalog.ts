import type { StsConfig } from '../../runtime/config';
import type { SnowflakeGenerator } from '../../runtime/ids/snowflake';
import type { ProcessorDefinition } from '../../runtime/processor/definition';
import { commission } from '../../processors/commission/processor';
import { paymentNotifyFromConfig } from '../../processors/payment-notify/from-config';
import { settlementAggregation } from '../../processors/settlement-aggregation/processor';
import { uploadIngestion } from '../../processors/upload-ingestion/processor';

/**
 * Every processor `sts run` can start, by the name the topology gives it. Adding a processor means
 * one line here and one entry in topologies/settlement.ts.
 */
export interface CatalogDeps {
  ids: SnowflakeGenerator;
  /** For processors that open their own clients from the environment (payment-notify: Redis, gateway). */
  config: StsConfig;
}

// The definitions are typed per processor; the runtime only needs the common shape.
type AnyDefinition = ProcessorDefinition<never>;

export const PROCESSOR_CATALOG: Readonly<Record<string, (deps: CatalogDeps) => AnyDefinition>> = {
  'settlement-aggregation': ({ ids }) => settlementAggregation(ids) as unknown as AnyDefinition,
  'upload-ingestion': ({ ids }) => uploadIngestion(ids) as unknown as AnyDefinition,
  commission: ({ ids }) => commission(ids) as unknown as AnyDefinition,
  'payment-notify': ({ config, ids }) => paymentNotifyFromConfig(config, ids) as unknown as AnyDefinition,
};
