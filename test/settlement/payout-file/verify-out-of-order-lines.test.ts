import type { Knex } from 'knex';
import {
  verifyPayoutFile,
  type VerifyResult,
} from '../../../settlement/payout-file/payout-file-verify';
import { writePayoutFiles } from '../../../settlement/payout-file/payout-files';
import { useTestResources } from '../../fixtures/resources';
import { resealedCopy, transactionsOf } from '../../fixtures/resealed-copy';
import { BASE_ID, CYCLE, seedPayouts, tempDataDir } from '../../fixtures/seed-payouts';

/**
 * verify checks the file against the database with a merge join: lines in id order walked together
 * with the payable payouts in id order. A line out of order cannot meet its payout in the walk,
 * which has already passed it; it is looked up by id instead, and the payout it claims must not be
 * reported missing. These tests reorder a correct file and expect exactly one finding, the
 * ordering itself, and nothing from the database checks, unless a payout really is missing.
 */

const r = useTestResources();

/** Over one scanner batch (1000 transactions), so the late line arrives in a later batch. */
const COUNT = 1100;
/** Ids 10 apart, so a payout can be added between two lines of the file. */
const idOf = (i: number) => BASE_ID + 10n * BigInt(i);

/** A cycle of COUNT payable payouts and its file, written and verified by writePayoutFiles. */
async function writtenCycle(): Promise<{ db: Knex; file: string }> {
  const { db } = await r.database();
  await seedPayouts(
    db,
    Array.from({ length: COUNT }, (_, k) => ({
      id: idOf(k + 1),
      shopUserId: BASE_ID + 100_000n + BigInt(k),
      amountMinor: 100n + BigInt(k),
    })),
  );
  const result = await writePayoutFiles(db, await tempDataDir(r), 'SG', CYCLE);
  expect(result.ok).toBe(true);
  // The RELEASED row records the original bytes; a reordered copy is other bytes and would fail
  // db-record for that reason alone. The row is this test's own, in its own database.
  await db('payout_file').del();
  return { db, file: result.files[0]!.path };
}

/** The file with its transactions in another order; everything else unchanged. */
function reordered(xml: string, order: (txs: string[]) => string[]): string {
  const txs = transactionsOf(xml);
  expect(txs).toHaveLength(COUNT);
  const body = txs.join('');
  return xml.replace(body, order(txs).join(''));
}

const failed = (result: VerifyResult) => result.checks.filter((c) => !c.ok).map((c) => c.name);
const detail = (result: VerifyResult, name: string) =>
  result.checks.find((c) => c.name === name)?.detail ?? '';

const cases: Array<[string, (txs: string[]) => string[], bigint, bigint]> = [
  // The walk passes payout 3 on its way to line 4, in the first batch; the line for payout 3
  // comes last, in the second batch, and must still claim it.
  [
    'an early transaction moved to the end of the file',
    (txs) => [...txs.slice(0, 2), ...txs.slice(3), txs[2]!],
    idOf(3),
    idOf(COUNT),
  ],
  // The first line is the highest id: the walk passes every other payout at once, and every
  // later line is out of order and must claim its payout by id.
  [
    'the last transaction moved to the front of the file',
    (txs) => [txs[COUNT - 1]!, ...txs.slice(0, COUNT - 1)],
    idOf(1),
    idOf(COUNT),
  ],
];

describe('verify of a file whose transactions are out of id order', () => {
  it.each(cases)(
    '%s: every payout is found, only the order is reported',
    async (_, order, outOfOrder, before) => {
      const { db, file } = await writtenCycle();
      const copy = await resealedCopy(r, file, (xml) => reordered(xml, order));

      const result = await verifyPayoutFile(copy, db);

      expect(failed(result)).toEqual(['transactions']);
      expect(detail(result, 'transactions')).toMatch(
        new RegExp(
          `^1 problem: EndToEndId ${outOfOrder} \\(transaction \\d+\\) is not above the one before it, ${before}$`,
        ),
      );
      expect(detail(result, 'db-payouts')).toBe(
        `all ${COUNT} lines match payable payouts in the database`,
      );
      expect(detail(result, 'db-complete')).toBe(
        `all ${COUNT} payable payouts of SG ${CYCLE} SGD are in the file`,
      );
    },
  );

  it.each(cases)(
    '%s: a payable payout missing from it is reported, and only that one',
    async (_, order) => {
      const { db, file } = await writtenCycle();
      const copy = await resealedCopy(r, file, (xml) => reordered(xml, order));
      // Between payouts 2 and 3, so the walk passes it together with payouts the late lines
      // claim: forgetting what it passed, or what was claimed, changes the finding.
      const missing = idOf(2) + 5n;
      await seedPayouts(db, [{ id: missing, shopUserId: BASE_ID + 99n, amountMinor: 42n }]);

      const result = await verifyPayoutFile(copy, db);

      expect(failed(result)).toEqual(['transactions', 'db-complete']);
      expect(detail(result, 'db-complete')).toBe(
        `1 problem: payout ${missing} (seller ${BASE_ID + 99n}, 42 minor units, PENDING) is not in the file`,
      );
      expect(detail(result, 'db-payouts')).toBe(
        `all ${COUNT} lines match payable payouts in the database`,
      );
    },
  );
});
