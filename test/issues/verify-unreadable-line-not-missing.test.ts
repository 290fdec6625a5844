import { verifyPayoutFile } from '../../settlement/payout-file/payout-file-verify';
import { writePayoutFiles } from '../../settlement/payout-file/payout-files';
import { useTestResources } from '../fixtures/resources';
import { resealedCopy, transactionFor } from '../fixtures/resealed-copy';
import { BASE_ID, CYCLE, seedPayouts, tempDataDir } from '../fixtures/seed-payouts';

/**
 * Regression: a transaction whose EndToEndId reads but whose amount does not (three decimals in
 * SGD) was reported twice, once rightly under `transactions` and again under `db-complete` as a
 * payout "not in the file", which sent an operator looking for a payout that was there.
 */
const r = useTestResources();

test('a line with an unreadable amount fails the transactions check without calling its payout missing', async () => {
  const { db } = await r.database();
  await seedPayouts(db, [1n, 2n, 3n].map((n) => ({ id: BASE_ID + n, shopUserId: BASE_ID + 100n + n, amountMinor: 1000n * n + 5n })));
  const written = await writePayoutFiles(db, await tempDataDir(r), 'SG', CYCLE);
  expect(written.ok).toBe(true);
  await db('payout_file').del();

  const copy = await resealedCopy(r, written.files[0]!.path, (xml) => {
    const tx = transactionFor(xml, BASE_ID + 2n);
    return xml.replace(tx, tx.replace('>20.05<', '>20.050<'));
  });
  const result = await verifyPayoutFile(copy, db);
  const failed = result.checks.filter((c) => !c.ok).map((c) => c.name);
  expect(failed).toContain('transactions');
  expect(failed).not.toContain('db-complete');
  expect(result.ok).toBe(false);
});
