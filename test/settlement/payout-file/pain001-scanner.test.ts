import fs from 'node:fs/promises';
import path from 'node:path';
import { scanPain001, type ScannedTransaction } from '../../../settlement/payout-file/pain001-scanner';
import { useTestResources } from '../../fixtures/resources';
import { tempDataDir } from '../../fixtures/seed-payouts';
import { FIXTURES_DIR } from '../../fixtures/fixtures-dir';

const r = useTestResources();
const GOLDEN = path.join(FIXTURES_DIR, 'payout-file', 'pain001-SG-20261116-SGD.xml');

async function scan(file: string, opts: { batchSize?: number; chunkSize?: number } = {}) {
  const txs: ScannedTransaction[] = [];
  const outcome = await scanPain001(file, async (batch) => void txs.push(...batch), opts);
  return { outcome, txs };
}

describe('pain.001 scanner', () => {
  it('reads the golden file back: header, three transactions, exact 18-digit ids', async () => {
    const { outcome, txs } = await scan(GOLDEN);
    expect(outcome.formatProblems).toEqual([]);
    expect(outcome.structureProblems).toEqual([]);
    expect(outcome.header).toMatchObject({
      msgId: 'STS-SG-20261116-SGD',
      nbOfTxs: '3',
      ctrlSum: '1235567.90',
      pmtInfCount: 1,
      debtorCcy: 'SGD',
    });
    expect(txs).toEqual([
      {
        index: 0,
        endToEndId: '652024209997893633',
        amount: '1234567.89',
        ccy: 'SGD',
        creditorId: '9007199254740993',
      },
      {
        index: 1,
        endToEndId: '652024209997893699',
        amount: '0.01',
        ccy: 'SGD',
        creditorId: '652024209997893632',
      },
      {
        index: 2,
        endToEndId: '9223372036854775807',
        amount: '1000.00',
        ccy: 'SGD',
        creditorId: '652024209997893632',
      },
    ]);
  });

  it('gives the same result whichever byte a read ends on', async () => {
    const expected = await scan(GOLDEN);
    for (const chunkSize of [1, 2, 3, 5, 7, 11, 13, 64, 333]) {
      const got = await scan(GOLDEN, { chunkSize, batchSize: 2 });
      expect(got.txs).toEqual(expected.txs);
      expect(got.outcome).toEqual(expected.outcome);
    }
  });

  it('refuses comments, CRLF, a BOM and invalid UTF-8 as format problems', async () => {
    const golden = await fs.readFile(GOLDEN);
    const dir = await tempDataDir(r);
    const variant = async (name: string, bytes: Buffer) => {
      const file = path.join(dir, name);
      await fs.writeFile(file, bytes);
      return (await scan(file)).outcome.formatProblems.join('; ');
    };
    expect(
      await variant(
        'comment.xml',
        Buffer.from(golden.toString().replace('<PmtInf>', '<PmtInf><!-- <CdtTrfTxInf> -->')),
      ),
    ).toContain('comments');
    expect(
      await variant('crlf.xml', Buffer.from(golden.toString().replace(/\n/g, '\r\n'))),
    ).toContain('CR characters');
    expect(
      await variant('bom.xml', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), golden])),
    ).toContain('no BOM');
    expect(
      await variant(
        'latin1.xml',
        Buffer.concat([golden.subarray(0, 200), Buffer.from([0xe9]), golden.subarray(200)]),
      ),
    ).toContain('not valid UTF-8');
  });
});
