import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { PROJECT_ROOT } from '../../../runtime/config';
import { appendBillingItems } from '../../../runtime/billing/billing-ledger';
import { cycleBounds, cycleIdFor } from '../../../runtime/billing/cycle-calendar';
import { ensureCycle } from '../../../runtime/billing/cycle-resolver';
import { Lease } from '../../../runtime/db/lease';
import { createLogger } from '../../../runtime/logger';
import { OutboxWriter } from '../../../runtime/outbox/outbox-writer';
import { setPayee } from '../../../runtime/payees/payee-registry';
import { parsePayoutRails } from '../../../runtime/payouts/payout-rails';
import { closeCycle, type CloseOptions } from '../../../settlement/cycle-close/close-cycle';
import { syntheticPayee } from '../../../tools/demo/synthetic-payees';
import { bankFolders } from '../../fixtures/bank-rail';
import { contenderDb, contenderUrls, expireLease, leaseRow } from '../../fixtures/contenders';
import { waitFor } from '../../fixtures/processor-harness';
import { useTestResources } from '../../fixtures/resources';
import { uploadSetup, type UploadSetup } from '../../fixtures/upload-harness';

/**
 * One close per region at a time (settlement/cycle-close/close-cycle.ts): the close holds the
 * region's lease for as long as it runs and fences each of its transactions with it. Each close
 * here has a pool of its own (contenders.ts), so the test can put them on different nodes.
 *
 * To catch a close in the middle, the test holds the cycle row (FOR UPDATE) before starting it:
 * the close takes its lease, then waits on that row until the test lets go.
 */
const r = useTestResources();
const logger = createLogger('close-exclusive-test', process.env.STS_LOG_LEVEL ?? 'warn');
const SELLERS = [652024209997110001n, 652024209997110002n, 652024209997110003n];
const LEASE = 'sts.close.SG';

async function endedCycle(s: UploadSetup) {
  const current = cycleIdFor('SG', new Date());
  const closing = cycleBounds('SG', cycleIdFor('SG', new Date(cycleBounds('SG', current).startsAt.getTime() - 1)));
  await ensureCycle(s.db, 'SG', closing.cycleId);
  await s.db.transaction((trx) =>
    appendBillingItems(trx, SELLERS.map((seller, i) => ({ id: s.ids.next(), region: 'SG', shopUserId: seller, currency: 'SGD', amountMinor: 7000n + BigInt(i), itemType: 'ADJUSTMENT', source: 'TEST', sourceRef: `excl-${i}`, cycleId: closing.cycleId }))),
  );
  for (const seller of SELLERS) await setPayee(s.db, seller, syntheticPayee(seller, 'SGD'), 'cli:test');
  const payoutsTopic = await r.topic('payouts', 1);
  await s.registry.register(`${payoutsTopic}-value`, fs.readFileSync(path.join(PROJECT_ROOT, 'schemas', 'payout.avsc'), 'utf8'));
  const opts: CloseOptions = { region: 'SG', cutoff: closing.cutoffAt, plan: { inputs: [], derived: [] }, payoutsTopic, rails: parsePayoutRails(''), payeeCooloffHours: 0, bank: { outboundDir: bankFolders(r).outboundDir, environment: 'TEST' }, lease: { ttlMs: 1000 } };
  return { cycleId: closing.cycleId, opts };
}

/** A close's dependencies on a contender's own pool. */
function closer(s: UploadSetup, db: Knex) {
  return { db, kafka: r.kafka, ids: s.ids, outbox: new OutboxWriter(s.codec, s.registry), dataDir: s.dataDir, logger };
}

/** Holds the cycle row until released: a close started meanwhile holds its lease and waits. */
async function holdCycleRow(s: UploadSetup, cycleId: bigint): Promise<Knex.Transaction> {
  const trx = await s.db.transaction();
  await trx.raw('SELECT status FROM settlement_cycle WHERE region = ? AND cycle_id = ? FOR UPDATE', ['SG', cycleId.toString()]);
  return trx;
}

const leaseHeld = async (db: Knex) => (await leaseRow(db, LEASE))?.expired === false;

async function cycleState(db: Knex, cycleId: bigint) {
  const cycle = (await db('settlement_cycle').where({ region: 'SG', cycle_id: cycleId.toString() }).first('status')) as { status: string };
  const [rows] = (await db.raw('SELECT CAST(shop_user_id AS CHAR) AS seller FROM payout WHERE region = ? AND cycle_id = ? ORDER BY shop_user_id', ['SG', cycleId.toString()])) as [Array<{ seller: string }>];
  return { status: cycle.status, payees: rows.map((p) => BigInt(p.seller)) };
}

test('two closes of one region at once: one closes it, the other is refused while it runs (however long, past the lease TTL), and every seller is paid once', async () => {
  const s = await uploadSetup(r, 1);
  const { cycleId, opts } = await endedCycle(s);
  const [dbA, dbB] = contenderUrls(s.url).map((u) => contenderDb(r, u)) as [Knex, Knex];

  const blocker = await holdCycleRow(s, cycleId);
  const first = closeCycle(closer(s, dbA), opts);
  first.catch(() => undefined);
  await waitFor('the first close to hold the region lease', () => leaseHeld(s.db), 10_000, 20);
  await expect(closeCycle(closer(s, dbB), opts)).rejects.toMatchObject({ code: 'STS_LOCK_UNAVAILABLE' });
  // Three TTLs later the first close, still waiting, keeps its lease by renewing it.
  await new Promise((res) => setTimeout(res, 3000));
  await expect(closeCycle(closer(s, dbB), opts)).rejects.toMatchObject({ code: 'STS_LOCK_UNAVAILABLE' });
  await blocker.commit();

  await expect(first).resolves.toMatchObject({ alreadyClosed: false, payoutsCreated: 3 });
  // Released at the end: the next close runs at once and finds nothing to do.
  await expect(closeCycle(closer(s, dbB), opts)).resolves.toMatchObject({ alreadyClosed: true, payoutsCreated: 0 });
  expect(await cycleState(s.db, cycleId)).toEqual({ status: 'CLOSED', payees: SELLERS });
}, 120_000);

test('a close whose region lease was taken over commits nothing more, and the new holder closes the cycle whole', async () => {
  const s = await uploadSetup(r, 1);
  const { cycleId, opts } = await endedCycle(s);
  const [dbA, dbB] = contenderUrls(s.url).map((u) => contenderDb(r, u)) as [Knex, Knex];

  const blocker = await holdCycleRow(s, cycleId);
  const stalled = closeCycle(closer(s, dbA), opts);
  stalled.catch(() => undefined);
  await waitFor('the close to hold the region lease', () => leaseHeld(s.db), 10_000, 20);
  // The close stalls past its lease (expired here by hand) and another holder takes the region.
  await expireLease(s.db, LEASE);
  const heir = new Lease(dbB, LEASE);
  r.defer(() => heir.release());
  expect(await heir.tryAcquire()).toBe(true);
  await blocker.commit();

  // The stalled close wakes up: its next transaction's fence finds another token and rolls back.
  await expect(stalled).rejects.toMatchObject({ code: 'STS_LOCK_UNAVAILABLE' });
  expect(await cycleState(s.db, cycleId)).toEqual({ status: 'OPEN', payees: [] });

  await heir.release();
  await expect(closeCycle(closer(s, dbB), opts)).resolves.toMatchObject({ alreadyClosed: false, payoutsCreated: 3 });
  expect(await cycleState(s.db, cycleId)).toEqual({ status: 'CLOSED', payees: SELLERS });
}, 120_000);
