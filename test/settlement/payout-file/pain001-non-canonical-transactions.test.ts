import type { Knex } from 'knex';
import { XMLParser } from 'fast-xml-parser';
import { parseTransactions } from '../../../settlement/payout-file/pain001-pieces';
import {
  verifyPayoutFile,
  type VerifyResult,
} from '../../../settlement/payout-file/payout-file-verify';
import { writePayoutFiles } from '../../../settlement/payout-file/payout-files';
import { renderTransaction } from '../../../settlement/payout-file/pain001-writer';
import { useTestResources } from '../../fixtures/resources';
import { resealedCopy, transactionFor } from '../../fixtures/resealed-copy';
import { BASE_ID, CYCLE, seedPayouts, tempDataDir } from '../../fixtures/seed-payouts';

/**
 * The scanner reads a transaction shaped exactly as pain001-writer renders it straight from the
 * text, and sends a batch with any other shape through the validating XML parser. These tests
 * hold both halves: what the writer produces takes the fast path, and a transaction that differs
 * (valid XML with the same values, or with wrong values, or with markup hidden on a canonical
 * line) is judged as the parser judges it.
 */

const r = useTestResources();
const KEY = { region: 'SG', cycleId: CYCLE, currency: 'SGD' };

/** A transaction as the scanner cuts it out: from <CdtTrfTxInf> to </CdtTrfTxInf>, no indent. */
const element = (n: bigint) =>
  renderTransaction(KEY, 2, {
    ...KEY,
    id: BASE_ID + n,
    shopUserId: BASE_ID + 100n + n,
    amountMinor: 1000n * n + 5n,
  }).trim();

/** Valid XML with the values of the writer's transaction, in shapes the writer never produces. */
const SAME_VALUES: Array<[string, (tx: string) => string]> = [
  ['a blank line and a tab between two elements', (tx) => tx.replace('<PmtId>\n', '<PmtId>\n\n\t')],
  [
    'the attribute in single quotes, with spaces around "="',
    (tx) => tx.replace('InstdAmt Ccy="SGD"', "InstdAmt Ccy = 'SGD'"),
  ],
  ['the whole transaction on one line', (tx) => tx.replace(/\n */g, '')],
];

/**
 * Markup on a line that otherwise looks canonical, each putting a second value beside the real one
 * (here an identical one, so only the markup is wrong); the field that must come back unread.
 */
const SMUGGLED: Array<[string, (tx: string) => string, 'amount' | 'endToEndId']> = [
  [
    'a second InstdAmt after the amount',
    (tx) => tx.replace(/(<InstdAmt [^\n]*<\/InstdAmt>)/, '$1$1'),
    'amount',
  ],
  [
    'a second EndToEndId after the id',
    (tx) => tx.replace(/(<EndToEndId>\d+<\/EndToEndId>)/, '$1$1'),
    'endToEndId',
  ],
];

describe('parseTransactions', () => {
  it('reads the transactions the writer renders without the XML parser', () => {
    const parse = jest.spyOn(XMLParser.prototype, 'parse');
    try {
      const structure: string[] = [];
      const txs = parseTransactions([element(1n), element(2n)], 7, structure);
      expect(parse).not.toHaveBeenCalled();
      expect(structure).toEqual([]);
      expect(txs[1]).toEqual({
        index: 8,
        endToEndId: `${BASE_ID + 2n}`,
        amount: '20.05',
        ccy: 'SGD',
        creditorId: `${BASE_ID + 102n}`,
      });
    } finally {
      parse.mockRestore();
    }
  });

  it.each(SAME_VALUES)(
    'reads a batch holding a transaction with %s through the parser, with the same values',
    (_, reshape) => {
      const canonical = [element(1n), element(2n), element(3n)];
      const reshaped = [canonical[0]!, reshape(canonical[1]!), canonical[2]!];
      expect(reshaped[1]).not.toBe(canonical[1]);
      const parse = jest.spyOn(XMLParser.prototype, 'parse');
      try {
        const structure: string[] = [];
        expect(parseTransactions(reshaped, 0, structure)).toEqual(
          parseTransactions(canonical, 0, []),
        );
        expect(structure).toEqual([]);
        expect(parse).toHaveBeenCalledTimes(1);
      } finally {
        parse.mockRestore();
      }
    },
  );

  it.each(SMUGGLED)('does not read a value from a transaction with %s', (_, smuggle, field) => {
    const tx = smuggle(element(2n));
    expect(tx).not.toBe(element(2n));
    const [read] = parseTransactions([tx], 0, []);
    // Two values where the schema allows one: the parser gives an array, which is no value.
    expect(read![field]).toBeUndefined();
  });
});

describe('verify of a file with a transaction in another shape', () => {
  let db: Knex;
  let file: string;
  beforeAll(async () => {
    ({ db } = await r.database());
    await seedPayouts(
      db,
      [1n, 2n, 3n, 4n, 5n].map((n) => ({
        id: BASE_ID + n,
        shopUserId: BASE_ID + 100n + n,
        amountMinor: 1000n * n + 5n,
      })),
    );
    const result = await writePayoutFiles(db, await tempDataDir(r), 'SG', CYCLE);
    expect(result.ok).toBe(true);
    file = result.files[0]!.path;
    // The RELEASED row records the written bytes, which every reshaped copy differs from; without
    // the row, db-record says the same for the original and its copies.
    await db('payout_file').del();
  });

  /** Payout 3's transaction, in the middle of the file, edited by `edit`. */
  const withThird = (edit: (tx: string) => string) => (xml: string) => {
    const tx = transactionFor(xml, BASE_ID + 3n);
    return xml.replace(tx, edit(tx));
  };
  const failed = (result: VerifyResult) => result.checks.filter((c) => !c.ok).map((c) => c.name);
  const detail = (result: VerifyResult, name: string) =>
    result.checks.find((c) => c.name === name)?.detail ?? '';
  /** Every check with its detail, except the file's own sha256. */
  const verdict = (result: VerifyResult) =>
    result.checks.map((c) => [c.name, c.ok, c.name === 'sha256' ? '' : c.detail]);

  it.each(SAME_VALUES)('gives the verdict of the written file for %s', async (_, reshape) => {
    const copy = await resealedCopy(r, file, withThird(reshape));
    const original = await verifyPayoutFile(file, db);
    expect(original.ok).toBe(true);
    expect(verdict(await verifyPayoutFile(copy, db))).toEqual(verdict(original));
  });

  it.each(SAME_VALUES)('catches a wrong amount in a transaction with %s', async (_, reshape) => {
    const copy = await resealedCopy(
      r,
      file,
      withThird((tx) => reshape(tx.replace('>30.05<', '>30.06<'))),
    );
    const result = await verifyPayoutFile(copy, db);
    // The header and the manifest still carry the written CtrlSum.
    expect(failed(result)).toEqual(['ctrl-sum', 'manifest', 'db-payouts']);
    expect(detail(result, 'db-payouts')).toBe(
      `1 problem: payout ${BASE_ID + 3n}: the database has amount_minor 3005 where the file has 3006`,
    );
  });

  it.each(SMUGGLED)('fails a file whose transaction carries %s', async (_, smuggle) => {
    const copy = await resealedCopy(r, file, withThird(smuggle));
    const result = await verifyPayoutFile(copy, db);
    expect(result.ok).toBe(false);
    expect(failed(result)).toContain('transactions');
    expect(detail(result, 'transactions')).toMatch(/\btransaction 3\b/);
  });
});

/**
 * Regression: the parser joins the text around a child element, so `20<b/>.05` read as 20.05 and
 * such a file verified. A value with markup inside is now unreadable, on either path.
 */
describe('markup inside a value', () => {
  it.each([
    ['the amount', (tx: string) => tx.replace(/(<InstdAmt [^>]*>)(\d+)/, '$1$2<b/>')],
    [
      'the EndToEndId',
      (tx: string) =>
        tx.replace(/<EndToEndId>(\d+)<\/EndToEndId>/, '<EndToEndId>$1<b/></EndToEndId>'),
    ],
  ])('leaves %s unread instead of joining the text around it', (field, edit) => {
    const tx = edit(element(3n));
    const [parsed] = parseTransactions([tx], 0, []);
    expect(field === 'the amount' ? parsed!.amount : parsed!.endToEndId).toBeUndefined();
  });
});
