import { cycleIdFor } from '../../../runtime/billing/cycle-calendar';
import { UploadActionRefusedError } from '../../../services/uploads/upload-errors';
import type { UploadCheckBounds } from '../../../runtime/uploads/upload-check-bounds';
import { cancelUpload } from '../../../services/uploads/upload-cancel';
import { confirmUpload } from '../../../services/uploads/upload-confirm';
import { readUploadStatus } from '../../../services/uploads/upload-status';
import { useTestResources } from '../../fixtures/resources';
import { startIngestion, uploadInto, uploadSetup, waitForUpload, type UploadSetup } from '../../fixtures/upload-harness';

/**
 * The checks that hold a risky upload before anything of it is booked (services/uploads/
 * upload-checks.ts), against the real broker and database: each warning is caused, nothing is
 * published or booked while the upload waits, and a confirmation books it and leaves its audit row.
 */
const r = useTestResources();
let s: UploadSetup;

/** History of SGD 100.00 over 10 items in last week's cycle: typical item SGD 10.00. */
const HISTORY = { balance: 10_000n, items: 10n };
const BOUNDS: UploadCheckBounds = { sellerFactor: 10n, rowFactor: 20n, historyCycles: 8, maxSellers: 1000, maxTotalMinor: new Map([['SGD', 100_000_000n], ['MYR', 100_000_000n]]) };
const HEADER = 'external_ref,shop_user_id,region,currency,amount,item_type\n';

beforeAll(async () => {
  s = await uploadSetup(r, 2);
  await startIngestion(r, s);
}, 60_000);

async function giveHistory(seller: bigint): Promise<void> {
  const lastWeek = cycleIdFor('SG', new Date(Date.now() - 7 * 86_400_000));
  await s.db('settlement_account').insert({ region: 'SG', shop_user_id: seller.toString(), currency: 'SGD', cycle_id: lastWeek.toString(), balance_minor: HISTORY.balance.toString(), item_count: HISTORY.items.toString() });
}

const count = async (table: string, where: Record<string, string> = {}) => {
  const [{ n }] = (await s.db(table).where(where).count({ n: '*' })) as [Record<string, string>];
  return Number(n);
};

/** Messages on the chunk topic: a held upload must have put none there. */
async function topicEnd(): Promise<string> {
  const admin = r.kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(s.topic)).reduce((sum, p) => sum + BigInt(p.high), 0n).toString();
  } finally {
    await admin.disconnect();
  }
}

function csv(rows: Array<[string, bigint, string, string, string]>): Buffer {
  return Buffer.from(HEADER + rows.map(([ref, seller, region, currency, amount]) => `${ref},${seller},${region},${currency},${amount},ADJUSTMENT\n`).join(''));
}

test('holds a file whose seller total is far above its history, books nothing, then books it once confirmed', async () => {
  const seller = 652024209997893632n;
  await giveHistory(seller);
  const items = await count('billing_item');
  const end = await topicEnd();
  const ref = r.unique('total');
  const intake = await uploadInto(s, csv(Array.from({ length: 10 }, (_, i) => [`${ref}-${i}`, seller, 'SG', 'SGD', '150.00'])), { checks: BOUNDS });

  expect(intake.status).toBe('AWAITING_CONFIRMATION');
  expect(intake.warnings).toEqual([
    expect.objectContaining({ code: 'SELLER_TOTAL_ABOVE_HISTORY', region: 'SG', currency: 'SGD', shopUserId: seller, amountMinor: 150_000n, historyMinor: 10_000n, boundMinor: 100_000n }),
  ]);
  expect(intake.warnings[0]!.message).toBe(
    `seller ${seller} (SG): SGD 1,500.00 in this file, above 10 × its largest cycle balance of the last 8 cycles (SGD 100.00) = SGD 1,000.00`,
  );
  // Nothing recorded, published or booked while it waits.
  await new Promise((res) => setTimeout(res, 1000));
  expect(await count('upload_chunk', { upload_id: intake.uploadId.toString() })).toBe(0);
  expect(await topicEnd()).toBe(end);
  expect(await count('billing_item')).toBe(items);
  const held = await readUploadStatus(s.db, intake.uploadId);
  expect(held).toMatchObject({ status: 'AWAITING_CONFIRMATION', totalRows: 10n, acceptedRows: 0n, confirmedBy: null });
  expect(held.warnings.map((w) => w.code)).toEqual(['SELLER_TOTAL_ABOVE_HISTORY']);

  const confirmed = await confirmUpload(s.deps, intake.uploadId, 'cli:olga', { tuning: { topic: s.topic } });
  expect(confirmed.warnings).toHaveLength(1);
  const done = await waitForUpload(s, intake.uploadId);
  expect(done).toMatchObject({ status: 'COMPLETED', acceptedRows: 10n, confirmedBy: 'cli:olga' });
  expect(await count('billing_item')).toBe(items + 10);

  const audit = (await s.db('ops_audit').where({ action: 'upload.confirm', target: intake.uploadId.toString() })) as Array<{ actor: string; detail: string }>;
  expect(audit).toHaveLength(1);
  expect(audit[0]!.actor).toBe('cli:olga');
  expect(JSON.parse(audit[0]!.detail)).toEqual({ how: 'confirm', warningCount: 1, warnings: [`SELLER_TOTAL_ABOVE_HISTORY: ${intake.warnings[0]!.message}`] });

  // A second confirm is refused, and publishes nothing more.
  await expect(confirmUpload(s.deps, intake.uploadId, 'cli:olga', { tuning: { topic: s.topic } })).rejects.toThrow(UploadActionRefusedError);
  expect(await count('billing_item')).toBe(items + 10);
}, 120_000);

test('holds a single row far above the seller’s typical item; cancelling it books nothing and a confirm is then refused', async () => {
  const seller = 652024209997893633n;
  await giveHistory(seller);
  const items = await count('billing_item');
  const ref = r.unique('row');
  // The row passes 20 × SGD 10.00; the seller's total (SGD 50.00) stays within its history.
  const file = csv([
    [`${ref}-1`, seller, 'SG', 'SGD', '5.00'],
    [`${ref}-2`, seller, 'SG', 'SGD', '300.00'],
    [`${ref}-3`, seller, 'SG', 'SGD', '-255.00'],
  ]);
  const intake = await uploadInto(s, file, { checks: BOUNDS });
  expect(intake.status).toBe('AWAITING_CONFIRMATION');
  expect(intake.warnings).toEqual([expect.objectContaining({ code: 'ROW_ABOVE_HISTORY', shopUserId: seller, rowNumber: 2n, amountMinor: 30_000n, historyMinor: 1_000n, boundMinor: 20_000n })]);
  expect(intake.warnings[0]!.message).toBe(`row 2, seller ${seller} (SG): SGD 300.00, above 20 × its typical item of the last 8 cycles (SGD 10.00) = SGD 200.00`);

  // The same bytes again return the held upload, with its warnings, and record nothing new.
  const again = await uploadInto(s, file, { checks: BOUNDS });
  expect(again).toMatchObject({ uploadId: intake.uploadId, existing: true, status: 'AWAITING_CONFIRMATION' });
  expect(again.warnings.map((w) => w.code)).toEqual(['ROW_ABOVE_HISTORY']);

  expect(await cancelUpload(s.db, intake.uploadId)).toEqual({ uploadId: intake.uploadId, status: 'CANCELLED', cancelledChunks: 0 });
  await expect(confirmUpload(s.deps, intake.uploadId, 'cli:olga', { tuning: { topic: s.topic } })).rejects.toMatchObject({ code: 'STS_UPLOAD_ACTION_REFUSED' });
  await new Promise((res) => setTimeout(res, 1000));
  expect(await count('billing_item')).toBe(items);
  expect(await count('upload_chunk', { upload_id: intake.uploadId.toString() })).toBe(0);
  expect(await count('ops_audit', { target: intake.uploadId.toString() })).toBe(0);
}, 60_000);

test('holds a file touching more sellers than the bound', async () => {
  const ref = r.unique('sellers');
  const file = csv(Array.from({ length: 6 }, (_, i) => [`${ref}-${i}`, 652024209997893700n + BigInt(i), 'SG', 'SGD', '1.00']));
  const exact = await uploadInto(s, file, { checks: { ...BOUNDS, maxSellers: 5 } });
  expect(exact.warnings).toEqual([expect.objectContaining({ code: 'TOO_MANY_SELLERS', count: 6n, boundMinor: 5n, message: 'the file touches 6 sellers, above the bound of 5 (STS_UPLOAD_MAX_SELLERS)' })]);
  // Past the tally's limit (bound + 1) further sellers are not held in memory, only noted.
  const past = await uploadInto(s, file, { checks: { ...BOUNDS, maxSellers: 3 }, force: true });
  expect(past.warnings).toEqual([
    expect.objectContaining({ code: 'TOO_MANY_SELLERS', count: 4n, message: 'the file touches at least 5 sellers, above the bound of 3 (STS_UPLOAD_MAX_SELLERS); the history checks covered the first 4' }),
  ]);
  expect(await count('upload_chunk', { upload_id: exact.uploadId.toString() })).toBe(0);
}, 60_000);

test('holds a file moving more money than a currency’s bound; --confirm-warnings up front books it and records the confirmation', async () => {
  const items = await count('billing_item');
  const ref = r.unique('money');
  // SGD moves 1,200.00 in magnitude (net 0), past its 1,000.00 bound; MYR stays within its own.
  const file = csv([
    [`${ref}-1`, 652024209997893800n, 'SG', 'SGD', '600.00'],
    [`${ref}-2`, 652024209997893801n, 'SG', 'SGD', '-600.00'],
    [`${ref}-3`, 652024209997893802n, 'MY', 'MYR', '900.00'],
  ]);
  const bounds = { ...BOUNDS, maxTotalMinor: new Map([['SGD', 100_000n], ['MYR', 100_000n]]) };
  const held = await uploadInto(s, file, { checks: bounds });
  expect(held.warnings).toEqual([
    expect.objectContaining({ code: 'TOO_MUCH_MONEY', currency: 'SGD', amountMinor: 120_000n, boundMinor: 100_000n, message: 'the file moves SGD 1,200.00 (its SGD rows added up in magnitude), above the bound of SGD 1,000.00 (STS_UPLOAD_MAX_TOTAL)' }),
  ]);
  expect(await cancelUpload(s.db, held.uploadId)).toMatchObject({ status: 'CANCELLED' });

  const upFront = await uploadInto(s, file, { checks: bounds, confirmWarnings: true, force: true, actor: 'api:otto' });
  expect(upFront.status).not.toBe('AWAITING_CONFIRMATION');
  expect(upFront.warnings.map((w) => w.code)).toEqual(['TOO_MUCH_MONEY']);
  const done = await waitForUpload(s, upFront.uploadId);
  expect(done).toMatchObject({ status: 'COMPLETED', acceptedRows: 3n, confirmedBy: 'api:otto' });
  expect(await count('billing_item')).toBe(items + 3);
  const [audit] = (await s.db('ops_audit').where({ action: 'upload.confirm', target: upFront.uploadId.toString() })) as Array<{ actor: string; detail: string }>;
  expect(audit!.actor).toBe('api:otto');
  expect(JSON.parse(audit!.detail)).toMatchObject({ how: 'confirm-warnings', warningCount: 1 });
}, 120_000);

test('a clean file of sellers with history flows as before: not held, no warning, no audit row', async () => {
  const seller = 652024209997893634n;
  await giveHistory(seller);
  const ref = r.unique('clean');
  const intake = await uploadInto(s, csv([[`${ref}-1`, seller, 'SG', 'SGD', '150.00'], [`${ref}-2`, seller, 'SG', 'SGD', '-20.00'], [`${ref}-3`, 652024209997893635n, 'SG', 'SGD', '9999.00']]), { checks: BOUNDS });
  expect(intake.status).not.toBe('AWAITING_CONFIRMATION');
  expect(intake.warnings).toEqual([]);
  expect(intake.chunkCount).toBeGreaterThan(0);
  const done = await waitForUpload(s, intake.uploadId);
  expect(done).toMatchObject({ status: 'COMPLETED', acceptedRows: 3n, warnings: [], confirmedBy: null });
  expect(await count('ops_audit', { target: intake.uploadId.toString() })).toBe(0);
}, 60_000);
