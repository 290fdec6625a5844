import type { Topology } from '../runtime/topology/types';

/**
 * The settlement pipeline (docs/DESIGN.md, "Topology"). Keys on every topic are the seller's
 * shop_user_id as a decimal string, so one seller's events stay in order on one partition.
 */
const PARTITIONS = 12;

/**
 * Every topic's name, declared once: contracts (contracts/), processors, the close's watermark
 * and the tools read them from here, never as literals of their own.
 */
export const TOPICS = {
  orderEvents: 'sts.order-events.v1',
  uploadChunks: 'sts.upload-chunks.v1',
  commissionRequests: 'sts.commission-requests.v1',
  payouts: 'sts.payouts.v1',
  payoutResults: 'sts.payout-results.v1',
} as const;
export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];

/** Each processor's consumer group, `sts.<processor>` (the topology's checks hold it to that). */
export const GROUPS = {
  settlementAggregation: 'sts.settlement-aggregation',
  uploadIngestion: 'sts.upload-ingestion',
  commission: 'sts.commission',
  paymentNotify: 'sts.payment-notify',
} as const;

export const settlementTopology: Topology = {
  name: 'settlement',
  topics: [
    { name: TOPICS.orderEvents, partitions: PARTITIONS, schema: 'order-event.avsc', dlq: true, description: 'Upstream order events: completed, refunded, adjusted.' },
    { name: TOPICS.uploadChunks, partitions: PARTITIONS, schema: 'upload-chunk.avsc', dlq: true, description: 'Chunks of ops-uploaded billing files, rows inline.' },
    { name: TOPICS.commissionRequests, partitions: PARTITIONS, schema: 'commission-request.avsc', dlq: true, description: 'Commission to charge or claw back for an order.' },
    { name: TOPICS.payouts, partitions: PARTITIONS, schema: 'payout.avsc', dlq: true, description: 'Payouts created when a cycle closes.' },
    { name: TOPICS.payoutResults, partitions: PARTITIONS, schema: 'payout-result.avsc', dlq: true, description: 'Final result of each payout at the gateway.' },
  ],
  processors: [
    { name: 'settlement-aggregation', group: GROUPS.settlementAggregation, input: TOPICS.orderEvents, outputs: [TOPICS.commissionRequests], description: 'Order events to billing items and running balances.' },
    { name: 'upload-ingestion', group: GROUPS.uploadIngestion, input: TOPICS.uploadChunks, outputs: [], description: 'Validates and bulk-writes uploaded billing rows.' },
    { name: 'commission', group: GROUPS.commission, input: TOPICS.commissionRequests, outputs: [], description: 'Commission fee and affiliate credit items.' },
    { name: 'payment-notify', group: GROUPS.paymentNotify, input: TOPICS.payouts, outputs: [TOPICS.payoutResults], description: 'Pays each payout once through the gateway.' },
  ],
  external: [
    { name: 'upstream', outputs: [TOPICS.orderEvents], description: 'Order systems publishing order events.' },
    { name: 'upload-intake', outputs: [TOPICS.uploadChunks], description: '`sts upload` and POST /uploads split files into chunks.' },
    { name: 'settle-close', outputs: [TOPICS.payouts], description: '`sts settle close` snapshots balances into payouts.' },
    { name: 'downstream', inputs: [TOPICS.payouts, TOPICS.payoutResults], description: 'Finance, payments and notification teams.' },
  ],
};
