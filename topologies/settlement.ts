import type { Topology } from '../runtime/topology/types';

/**
 * The settlement pipeline (docs/DESIGN.md, "Topology"). Keys on every topic are the seller's
 * shop_user_id as a decimal string, so one seller's events stay in order on one partition.
 */
const PARTITIONS = 12;

export const settlementTopology: Topology = {
  name: 'settlement',
  topics: [
    { name: 'sts.order-events.v1', partitions: PARTITIONS, schema: 'order-event.avsc', dlq: true, description: 'Upstream order events: completed, refunded, adjusted.' },
    { name: 'sts.upload-chunks.v1', partitions: PARTITIONS, schema: 'upload-chunk.avsc', dlq: true, description: 'Chunks of ops-uploaded billing files, rows inline.' },
    { name: 'sts.commission-requests.v1', partitions: PARTITIONS, schema: 'commission-request.avsc', dlq: true, description: 'Commission to charge or claw back for an order.' },
    { name: 'sts.payouts.v1', partitions: PARTITIONS, schema: 'payout.avsc', dlq: true, description: 'Payouts created when a cycle closes.' },
    { name: 'sts.payout-results.v1', partitions: PARTITIONS, schema: 'payout-result.avsc', dlq: true, description: 'Final result of each payout at the gateway.' },
  ],
  processors: [
    { name: 'settlement-aggregation', group: 'sts.settlement-aggregation', input: 'sts.order-events.v1', outputs: ['sts.commission-requests.v1'], description: 'Order events to billing items and running balances.' },
    { name: 'upload-ingestion', group: 'sts.upload-ingestion', input: 'sts.upload-chunks.v1', outputs: [], description: 'Validates and bulk-writes uploaded billing rows.' },
    { name: 'commission', group: 'sts.commission', input: 'sts.commission-requests.v1', outputs: [], description: 'Commission fee and affiliate credit items.' },
    { name: 'payment-notify', group: 'sts.payment-notify', input: 'sts.payouts.v1', outputs: ['sts.payout-results.v1'], description: 'Pays each payout once through the gateway.' },
  ],
  external: [
    { name: 'upstream', outputs: ['sts.order-events.v1'], description: 'Order systems publishing order events.' },
    { name: 'upload-intake', outputs: ['sts.upload-chunks.v1'], description: '`sts upload` and POST /uploads split files into chunks.' },
    { name: 'settle-close', outputs: ['sts.payouts.v1'], description: '`sts settle close` snapshots balances into payouts.' },
    { name: 'downstream', inputs: ['sts.payouts.v1', 'sts.payout-results.v1'], description: 'Finance, payments and notification teams.' },
  ],
};
