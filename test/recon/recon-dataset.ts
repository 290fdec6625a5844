import fs from 'node:fs';
import path from 'node:path';
import { Registry } from 'prom-client';
import { PROJECT_ROOT } from '../../runtime/config';
import type { Knex } from '../../runtime/db/knex';
import { GatewayClient } from '../../runtime/gateway/gateway-client';
import { SnowflakeGenerator } from '../../runtime/ids/snowflake';
import { WorkerLease } from '../../runtime/ids/worker-lease';
import { appendBillingItems, type BillingItemInput } from '../../runtime/ledger/billing-ledger';
import { cycleBounds } from '../../runtime/ledger/cycle-bounds';
import { cycleIdFor } from '../../runtime/ledger/cycle-calendar';
import { ensureCycle } from '../../runtime/ledger/cycle-resolver';
import { createLogger } from '../../runtime/logger';
import { tccResolve, tccTry } from '../../runtime/money-ledger/tcc-ledger';
import { OutboxRelay } from '../../runtime/outbox/outbox-relay';
import { OutboxWriter } from '../../runtime/outbox/outbox-writer';
import { AvroCodec } from '../../runtime/registry/avro-codec';
import { RegistryClient } from '../../runtime/registry/registry-client';
import { valueSubject } from '../../runtime/topology/types';
import { snapshotPayouts } from '../../settlement/cycle-close/payout-snapshot';
import { ReconRunner } from '../../ops/recon/recon-runner';
import type { ReconOptions, StoredFinding } from '../../ops/recon/recon-types';
import type { TestResources } from '../helpers/resources';

/**
 * A clean settlement history for reconciliation tests, built through the real write paths: items
 * through the billing ledger, closes through the payout snapshot, payments through the TCC ledger
 * and a real gateway simulator, events through the outbox relay to a real topic.
 *
 *   SG c[-5..-1] CLOSED. c[-5..-2] paid (one payout of c[-2] left SUBMITTED, in flight); c[-1]
 *   just closed, PENDING. Seller 4 has 50 minor units in c[-3] (below the minimum): carried
 *   forward into c[-2]. c[0] OPEN with order items and one COMPLETED upload of 5 rows.
 * Ids are 18 digits; amounts are bigint.
 */
export const SELLERS = [
  652024209997893632n,
  652024209997893633n,
  652024209997893634n,
  652024209997893635n,
] as const;
export const NAMED_ACCOUNT = 'ACC-SG-652024209997893632';

export interface ReconDataset {
  db: Knex;
  url: string;
  ids: SnowflakeGenerator;
  outbox: OutboxWriter;
  payoutsTopic: string;
  /** cycles[0] is the open one, cycles[k] k weeks before it. */
  cycles: bigint[];
  submittedPayoutId: bigint;
  uploadId: bigint;
  runner(opts?: Partial<ReconOptions>): ReconRunner;
}

const orderSeq = { n: 7_000_000_000_000_000n };

export async function reconDataset(r: TestResources, gatewayUrl: string): Promise<ReconDataset> {
  const { db, url } = await r.database();
  const registry = new RegistryClient(r.config.schemaRegistryUrl);
  const codec = new AvroCodec(registry);
  const payoutsTopic = await r.topic('recon-payouts', 1);
  await registry.register(
    valueSubject(payoutsTopic),
    fs.readFileSync(path.join(PROJECT_ROOT, 'schemas', 'payout.avsc'), 'utf8'),
  );
  const lease = await WorkerLease.acquire(db, { datacenterId: 0, owner: 'recon-test' });
  r.defer(() => lease.release());
  const ids = new SnowflakeGenerator(lease);
  const outbox = new OutboxWriter(codec, registry);

  const cycles = [cycleIdFor('SG', new Date())];
  for (let k = 1; k <= 5; k++)
    cycles.push(
      cycleIdFor('SG', new Date(cycleBounds('SG', cycles[k - 1]!).startsAt.getTime() - 1)),
    );

  const item = (
    cycleId: bigint,
    seller: bigint,
    amount: bigint,
    type = 'ORDER_INCOME',
    source = 'ORDER',
  ): BillingItemInput => {
    orderSeq.n += 1n;
    return {
      id: ids.next(),
      region: 'SG',
      shopUserId: seller,
      currency: 'SGD',
      amountMinor: amount,
      itemType: type,
      source,
      sourceRef: `evt-${orderSeq.n}`,
      orderId: type === 'ORDER_INCOME' || type === 'REFUND' ? orderSeq.n : null,
      cycleId,
    };
  };
  const append = (items: BillingItemInput[]) =>
    db.transaction((trx) => appendBillingItems(trx, items));

  // History: about 340k minor units a week over three sellers, a little different each week.
  for (let k = 5; k >= 1; k--) {
    const c = cycles[k]!;
    await ensureCycle(db, 'SG', c);
    const w = BigInt(k);
    await append([
      item(c, SELLERS[0], 150_000n + w * 1000n),
      item(c, SELLERS[0], -20_000n, 'REFUND'),
      item(c, SELLERS[1], 90_000n + w * 500n),
      item(c, SELLERS[1], 2_500n, 'ADJUSTMENT', 'UPLOAD'),
      item(c, SELLERS[2], 110_000n - w * 700n),
      ...(k === 3 ? [item(c, SELLERS[3], 50n)] : []),
      ...(k === 2 ? [item(c, SELLERS[3], 80n)] : []),
    ]);
  }
  for (let k = 5; k >= 1; k--) await closeForTest(db, { ids, outbox, payoutsTopic }, cycles[k]!);

  await db('seller_payee_account').insert({
    region: 'SG',
    shop_user_id: SELLERS[0].toString(),
    account: NAMED_ACCOUNT,
  });
  const gateway = new GatewayClient({ baseUrl: gatewayUrl });
  let submittedPayoutId = 0n;
  try {
    const payable = (await db('payout')
      .select(
        db.raw('CAST(id AS CHAR) AS id'),
        db.raw('CAST(shop_user_id AS CHAR) AS shop'),
        'currency',
        db.raw('CAST(amount_minor AS CHAR) AS amount'),
        db.raw('CAST(cycle_id AS CHAR) AS cycle'),
      )
      .where({ status: 'PENDING' })
      .whereIn('cycle_id', cycles.slice(2).map(String))
      .orderBy('id')) as Array<{
      id: string;
      shop: string;
      currency: string;
      amount: string;
      cycle: string;
    }>;
    for (const [i, p] of payable.entries()) {
      const payout = {
        payoutId: BigInt(p.id),
        shopUserId: BigInt(p.shop),
        currency: p.currency,
        amountMinor: BigInt(p.amount),
        account: BigInt(p.shop) === SELLERS[0] ? NAMED_ACCOUNT : p.shop,
      };
      await db.transaction(async (trx) => {
        await trx('payout_submission').insert({
          payout_id: p.id,
          payee_account: payout.account,
          source_topic: payoutsTopic,
          source_partition: 0,
          source_offset: i,
        });
        await trx('payout').where({ id: p.id }).update({ status: 'SUBMITTED', attempts: 1 });
        await tccTry(trx, [
          { txId: payout.payoutId, currency: p.currency, amountMinor: payout.amountMinor },
        ]);
      });
      // The last one of c[-2] stays in flight: sent nowhere yet, its money reserved in the ledger.
      if (p.cycle === cycles[2]!.toString() && i === payable.length - 1) {
        submittedPayoutId = payout.payoutId;
        continue;
      }
      const outcome = await gateway.submit(p.id, payout);
      if (outcome.kind !== 'executed')
        throw new Error(`gateway did not execute ${p.id}: ${JSON.stringify(outcome)}`);
      await db.transaction(async (trx) => {
        await trx('payout')
          .where({ id: p.id })
          .update({ status: 'PAID', gateway_reference: outcome.reference, decided_at: new Date() });
        await tccResolve(trx, [{ txId: payout.payoutId, resolution: 'CONFIRM' }]);
      });
    }
  } finally {
    gateway.close();
  }

  const c0 = cycles[0]!;
  await ensureCycle(db, 'SG', c0);
  await append([
    item(c0, SELLERS[0], 40_000n),
    item(c0, SELLERS[1], 30_000n),
    item(c0, SELLERS[1], -5_000n, 'REFUND'),
    item(c0, SELLERS[2], 25_000n),
  ]);
  const uploadId = await completedUpload(db, ids, c0, append);

  // Every payout.created event goes out through the relay, as in production.
  const relay = new OutboxRelay({
    db,
    kafka: r.kafka,
    logger: createLogger('recon-relay', 'warn'),
    metrics: new Registry(),
  });
  while ((await relay.runOnce()) > 0);
  await relay.stop();

  const logger = createLogger('recon-test', process.env.STS_LOG_LEVEL ?? 'warn');
  return {
    db,
    url,
    ids,
    outbox,
    payoutsTopic,
    cycles,
    submittedPayoutId,
    uploadId,
    runner(opts = {}) {
      const runner = new ReconRunner(
        { db, logger, metrics: new Registry() },
        { gatewayUrl, ...opts },
      );
      r.defer(() => runner.close());
      return runner;
    },
  };
}

/** The close's data steps (CLOSING, payouts, carry-forward, CLOSED) without its Kafka watermark. */
async function closeForTest(
  db: Knex,
  deps: { ids: SnowflakeGenerator; outbox: OutboxWriter; payoutsTopic: string },
  cycleId: bigint,
): Promise<void> {
  await db('settlement_cycle')
    .where({ region: 'SG', cycle_id: cycleId.toString() })
    .update({ status: 'CLOSING', closing_at: new Date() });
  await snapshotPayouts({ db, ...deps }, 'SG', cycleId);
  await db('settlement_cycle')
    .where({ region: 'SG', cycle_id: cycleId.toString() })
    .update({ status: 'CLOSED', closed_at: new Date() });
}

/** An upload of 5 rows in 2 chunks: 3 accepted (items in the open cycle), 1 rejected, 1 duplicate. */
async function completedUpload(
  db: Knex,
  ids: SnowflakeGenerator,
  cycleId: bigint,
  append: (items: BillingItemInput[]) => Promise<unknown>,
): Promise<bigint> {
  const id = ids.next();
  await db('upload').insert({
    id: id.toString(),
    file_name: 'adjustments.csv',
    sha256: 'a'.repeat(64),
    size_bytes: 400,
    stored_path: `uploads/${id}.csv`,
    status: 'COMPLETED',
    total_rows: 5,
    chunk_count: 2,
    done_chunks: 2,
    accepted_rows: 3,
    rejected_rows: 1,
    duplicate_rows: 1,
    created_by: 'test',
    finished_at: new Date(),
  });
  await db('upload_chunk').insert([
    {
      upload_id: id.toString(),
      chunk_index: 0,
      first_row: 1,
      row_count: 3,
      status: 'DONE',
      accepted_rows: 2,
      rejected_rows: 1,
      duplicate_rows: 0,
      done_at: new Date(),
    },
    {
      upload_id: id.toString(),
      chunk_index: 1,
      first_row: 4,
      row_count: 2,
      status: 'DONE',
      accepted_rows: 1,
      rejected_rows: 0,
      duplicate_rows: 1,
      done_at: new Date(),
    },
  ]);
  await db('upload_reject').insert({
    upload_id: id.toString(),
    row_number: 2,
    reason_code: 'BAD_AMOUNT',
    message: 'amount has 3 decimals; SGD allows 2',
    raw: 'r2,652024209997893633,SG,SGD,1.005,ADJUSTMENT',
  });
  await append(
    [1n, 3n, 4n].map((row) => ({
      id: ids.next(),
      region: 'SG',
      shopUserId: SELLERS[1],
      currency: 'SGD',
      amountMinor: 1_000n * row,
      itemType: 'ADJUSTMENT',
      source: 'UPLOAD',
      sourceRef: `adj-${id}-${row}`,
      cycleId,
    })),
  );
  return id;
}

/** "rule entity" of each open finding, sorted: what a test compares. */
export const keysOf = (findings: StoredFinding[]) =>
  findings.map((f) => `${f.rule} ${f.entity}`).sort();
