import { cycleIdFor } from '../../../runtime/billing/cycle-calendar';
import { DEFAULT_MONEY_BOUNDS } from '../../../runtime/money/money-bounds';
import { useTestResources } from '../../fixtures/resources';
import { startIngestion, uploadInto, uploadSetup, waitForUpload } from '../../fixtures/upload-harness';

/**
 * Upload ingestion books without reading balances and falls back to reading them when an account
 * might reach its payout bound: the outcome must be the reading one exactly. A seller sits 100
 * minor units under the bound; of its rows, only the one that would cross is rejected
 * (BALANCE_LIMIT), and every other row of the batch, its own and another seller's, is booked.
 */
const r = useTestResources();
const PAYOUT = DEFAULT_MONEY_BOUNDS.maxPayoutMinor;
const NEAR = 652024209997893632n;
const OTHER = 652024209997893633n;

test('a row that would take a seller past the payout bound is rejected alone; the batch around it is booked', async () => {
  const s = await uploadSetup(r, 1);
  const cycle = cycleIdFor('SG', new Date());
  await s.db('settlement_account').insert({ region: 'SG', shop_user_id: NEAR.toString(), currency: 'SGD', cycle_id: cycle.toString(), balance_minor: (PAYOUT - 100n).toString(), item_count: 1 });
  await startIngestion(r, s);
  const csv = [
    'external_ref,shop_user_id,region,currency,amount,item_type',
    `bb-1,${NEAR},SG,SGD,0.50,ADJUSTMENT`,
    `bb-2,${NEAR},SG,SGD,1.00,ADJUSTMENT`,
    `bb-3,${OTHER},SG,SGD,1.00,ADJUSTMENT`,
    `bb-4,${NEAR},SG,SGD,-2.00,ADJUSTMENT`,
  ].join('\n');
  const intake = await uploadInto(s, Buffer.from(`${csv}\n`));
  const status = await waitForUpload(s, intake.uploadId);
  expect({ status: status.status, accepted: status.acceptedRows, rejected: status.rejectedRows }).toEqual({ status: 'COMPLETED', accepted: 3n, rejected: 1n });
  const rejects = (await s.db('upload_reject').where({ upload_id: intake.uploadId.toString() })) as Array<{ row_number: string; reason_code: string; message: string }>;
  expect(rejects.map((x) => [x.row_number, x.reason_code])).toEqual([['2', 'BALANCE_LIMIT']]);
  expect(rejects[0]!.message).toMatch(/beyond the payout bound of 99999999999999999/);
  const balance = async (shop: bigint) =>
    ((await s.db('settlement_account').where({ region: 'SG', shop_user_id: shop.toString(), cycle_id: cycle.toString() }).first('balance_minor', 'item_count')) as { balance_minor: string; item_count: string });
  expect(await balance(NEAR)).toEqual({ balance_minor: (PAYOUT - 250n).toString(), item_count: '3' });
  expect(await balance(OTHER)).toEqual({ balance_minor: '100', item_count: '1' });
  const refs = (await s.db('billing_item').where({ source: 'UPLOAD' }).orderBy('source_ref').select('source_ref')) as Array<{ source_ref: string }>;
  expect(refs.map((x) => x.source_ref)).toEqual(['bb-1', 'bb-3', 'bb-4']);
});
