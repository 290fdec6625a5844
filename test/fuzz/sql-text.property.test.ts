import fc from 'fast-check';
import { createDb, type Knex } from '../../runtime/db/knex';
import { appendBillingItems, type BillingItemInput } from '../../runtime/billing/billing-ledger';
import { useTestResources } from '../fixtures/resources';
import { fuzzParams } from './fuzz-runs';

/**
 * Any well-formed text survives every escaping path into a real table and back, byte for byte:
 * knex's bound parameters (mysql2's format), the ledger's hand-built multi-row INSERT text
 * (mysql2's escape) and LOAD DATA's tab-separated fields (tsvField). Texts are weighted towards
 * what breaks escaping: quotes, backslashes, NUL, CR/LF/tab, Ctrl-Z, backticks, comment starts,
 * combining marks, emoji and trailing spaces. A second append of the same items finds each one
 * by its exact key (a duplicate, never a conflict or a retry), so keying is byte-exact too.
 */
const r = useTestResources();
const SPECIALS = ["'", '"', '\\', '`', ';', '-', '#', '/', '*', '%', '?', '_', '\u0000', '\n', '\r', '\t', '\u001a', ' ', '\u00a0', 'e', 'E', '\u00e9', '\u0301', '😀', '中', '\uFEFF'];
const unit = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...SPECIALS) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) });
/** At most `max` code points, sometimes with trailing spaces. */
const text = (max: number) => fc.tuple(fc.string({ unit, maxLength: max - 3 }), fc.nat(3)).map(([s, pad]) => s + ' '.repeat(pad));

const SELLER = 652024209997893632n;
let nextId = 960000000000000000n;
let run = 0;

describe('SQL text round trip', () => {
  let url: string;
  let pools: Record<'load' | 'insert', Knex>;
  beforeAll(async () => {
    const { db, url: u } = await r.database();
    url = u;
    await db.raw('CREATE TABLE fuzz_text (k BIGINT PRIMARY KEY, v VARCHAR(255) NULL)');
    pools = { load: createDb(url, { pool: 2, localInfile: true }), insert: createDb(url, { pool: 2, localInfile: false }) };
    r.defer(() => Promise.all(Object.values(pools).map((p) => p.destroy())));
  });

  test('knex parameters store and match any text exactly', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(text(255), { minLength: 1, maxLength: 8 }), async (values) => {
        const db = pools.insert;
        const rows = values.map((v) => ({ k: (nextId++).toString(), v }));
        await db('fuzz_text').insert(rows);
        const back = (await db('fuzz_text').whereIn('k', rows.map((x) => x.k)).orderBy('k').select('k', 'v', db.raw('HEX(v) AS hex'))) as Array<{ k: string; v: string; hex: string }>;
        expect(back.map((x) => x.v)).toEqual(values);
        expect(back.map((x) => x.hex)).toEqual(values.map((v) => Buffer.from(v, 'utf8').toString('hex').toUpperCase()));
        // Looked up by the value itself, each row finds exactly the rows holding those bytes.
        for (const row of rows) {
          const hits = (await db('fuzz_text').whereIn('k', rows.map((x) => x.k)).where('v', row.v).pluck('k')) as string[];
          expect(hits.sort()).toEqual(rows.filter((x) => x.v === row.v).map((x) => x.k).sort());
        }
      }),
      fuzzParams('sql-text knex parameters'),
    );
  });

  test.each([
    ['LOAD DATA fields (tsvField)', 'load'],
    ['the ledger multi-row INSERT text (escape)', 'insert'],
  ] as const)('billing items through %s keep refs and memos byte for byte, and are found again by key', async (name, path) => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(text(128), { minLength: 1, maxLength: 8 }), fc.array(fc.option(text(255), { nil: null }), { minLength: 8, maxLength: 8 }), async (refs, memos) => {
        const db = pools[path];
        const source = `F${path[0]}${run++}`;
        const items: BillingItemInput[] = refs.map((ref, i) => ({
          id: nextId++,
          region: 'SG',
          shopUserId: SELLER,
          currency: 'SGD',
          amountMinor: BigInt(i + 1),
          itemType: 'ADJUSTMENT',
          source,
          sourceRef: ref,
          orderId: null,
          cycleId: 20261116n,
          memo: memos[i]!,
        }));
        const first = await db.transaction((trx) => appendBillingItems(trx, items));
        expect(first.inserted).toHaveLength(items.length);
        const back = (await db('billing_item').where({ source }).orderBy('id').select('source_ref', 'memo', db.raw('HEX(source_ref) AS hex'))) as Array<{ source_ref: string; memo: string | null; hex: string }>;
        expect(back.map((x) => [x.source_ref, x.memo])).toEqual(items.map((x) => [x.sourceRef, x.memo]));
        expect(back.map((x) => x.hex)).toEqual(refs.map((ref) => Buffer.from(ref, 'utf8').toString('hex').toUpperCase()));
        const again = await db.transaction((trx) => appendBillingItems(trx, items.map((x) => ({ ...x, id: nextId++ }))));
        expect([again.inserted.length, again.duplicates.length, again.conflicts.length]).toEqual([0, items.length, 0]);
      }),
      fuzzParams(`sql-text ${name}`),
    );
  });
});
