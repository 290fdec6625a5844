import path from 'node:path';
import { createBankSimulator } from '../../../infra/bank-simulator/server';
import { OutboxWriter } from '../../../runtime/outbox/outbox-writer';
import { ledgerProblems } from '../../../runtime/payment-ledger/ledger-balances';
import { ingestBankReports } from '../../../settlement/bank-file/bank-status-ingest';
import { sendBankFiles } from '../../../settlement/bank-file/bank-sender';
import { bankRail } from '../../../services/recon/rules/bank-rail';
import { RECON_DEFAULTS } from '../../../services/recon/recon-types';
import type { GatewayReportReader } from '../../../services/recon/gateway-report-reader';
import { useTestResources } from '../../fixtures/resources';
import { uploadSetup } from '../../fixtures/upload-harness';
import { waitFor } from '../../fixtures/processor-harness';
import { BANK_SELLERS, bankCycle, bankFolders, bankLogger } from '../../fixtures/bank-rail';

/**
 * The bank-file rail end to end against the bank simulator: the sender's files, the simulator's
 * own reports (with its faults: a refused transfer, a whole file refused, every report sent twice,
 * a status line for a payout never sent), and status ingestion, until every payout is final.
 */
const r = useTestResources();

test('files to the bank simulator and its reports back: ACSC paid once, a refused transfer and a refused file FAILED and returned once, duplicate reports and an unknown EndToEndId change nothing', async () => {
  const s = await uploadSetup(r, 1);
  await bankCycle(r, s, 'SG', 'SG=bank-file');
  const folders = bankFolders(r);
  const bank = await createBankSimulator({ ...folders, journalDir: path.join(path.dirname(folders.outboundDir), 'bank'), pollMs: 50 });
  await bank.listen(0, '127.0.0.1');
  r.defer(() => bank.close());
  const payouts = ((await s.db('payout').where({ region: 'SG' }).orderBy('id').select(s.db.raw('CAST(id AS CHAR) AS id'))) as Array<{ id: string }>).map((p) => p.id);
  const refused = payouts[2]!;
  bank.faults.update({ rejectEndToEndIds: { [refused]: 'AC01' }, duplicateReports: true, unknownEndToEndIds: 1 });

  const deps = { db: s.db, dataDir: s.dataDir, outboundDir: folders.outboundDir, environment: 'TEST', logger: bankLogger };
  const ingest = { db: s.db, ids: s.ids, outbox: new OutboxWriter(s.codec, s.registry), inboundDir: folders.inboundDir, logger: bankLogger };
  await sendBankFiles(deps);
  const final = async () => Number((await s.db('payout').where({ region: 'SG' }).whereIn('status', ['PAID', 'FAILED']).count({ n: '*' }))[0]!.n);
  await waitFor('every payout final', async () => (await ingestBankReports(ingest), (await final()) === BANK_SELLERS.length), 60_000, 100);
  // The duplicate copies and the notifications may trail the final report by a poll.
  await waitFor('the simulator idle', async () => bank.processor.pendingReports === 0, 10_000, 50);
  await new Promise((res) => setTimeout(res, 300));
  await ingestBankReports(ingest);

  const status = Object.fromEntries(((await s.db('payout').where({ region: 'SG' }).select(s.db.raw('CAST(id AS CHAR) AS id'), 'status', 'failure_code')) as Array<{ id: string; status: string; failure_code: string | null }>).map((p) => [p.id, `${p.status}${p.failure_code ? ` ${p.failure_code}` : ''}`]));
  expect(status[refused]).toBe('FAILED AC01');
  expect(Object.values(status).filter((v) => v === 'PAID')).toHaveLength(BANK_SELLERS.length - 1);
  expect(bank.journal.maxExecutionsPerEndToEndId).toBe(1);
  expect(bank.journal.executionCount).toBe(BANK_SELLERS.length - 1);
  const returned = (await s.db('billing_item').where({ source: 'PAYOUT_RETURN' }).pluck('source_ref')) as string[];
  expect(returned).toEqual([refused]);
  expect(Number((await s.db('bank_debit').count({ n: '*' }))[0]!.n)).toBe(BANK_SELLERS.length - 1);
  expect(await ledgerProblems(s.db)).toEqual([]);
  // The copies were seen and changed nothing; the unknown line is the one finding.
  expect(Number((await s.db('bank_report').count({ n: '*' }))[0]!.n)).toBe(3);
  const findings = await bankRail.check({ db: s.db, now: new Date(), options: RECON_DEFAULTS, gateway: {} as GatewayReportReader, open: new Map() });
  expect(findings.map((f) => f.entity)).toEqual([expect.stringMatching(/^bank\/report\/BANKSIM-\d+\/UNKNOWN_END_TO_END_ID\/UNSENT-/)]);

  // A second cycle's file refused as a whole: every payout of it FAILED with FF01 and returned.
  await bankCycle(r, s, 'SG', 'SG=bank-file', [652024209997840001n, 652024209997840002n]);
  bank.faults.update({ rejectNextFiles: 1, duplicateReports: false });
  const [second] = (await sendBankFiles(deps)).transmitted;
  const ofSecond = async () => (await s.db('payout').where({ bank_msg_id: second }).select('status', 'failure_code')) as Array<{ status: string; failure_code: string | null }>;
  await waitFor('the refused file final', async () => (await ingestBankReports(ingest), (await ofSecond()).every((p) => p.status === 'FAILED')), 30_000, 100);
  expect((await ofSecond()).map((p) => p.failure_code)).toEqual(['FF01', 'FF01']);
  expect(await s.db('billing_item').where({ source: 'PAYOUT_RETURN' }).count({ n: '*' })).toEqual([{ n: '3' }]);
  expect(await ledgerProblems(s.db)).toEqual([]);
}, 120_000);
