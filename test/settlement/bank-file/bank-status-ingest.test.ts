import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../../runtime/config';
import { cycleIdFor } from '../../../runtime/billing/cycle-calendar';
import { OutboxWriter } from '../../../runtime/outbox/outbox-writer';
import { ledgerBalances, ledgerProblems, netOf } from '../../../runtime/payment-ledger/ledger-balances';
import { ingestBankReports } from '../../../settlement/bank-file/bank-status-ingest';
import { sendBankFiles } from '../../../settlement/bank-file/bank-sender';
import { useTestResources } from '../../fixtures/resources';
import { uploadSetup, type UploadSetup } from '../../fixtures/upload-harness';
import { BANK_SELLERS, bankCycle, bankFolders, bankLogger, writeCamt054, writePain002 } from '../../fixtures/bank-rail';
import { waitFor } from '../../fixtures/processor-harness';
import { formatMoney } from '../../../runtime/money/money-text';

/**
 * The bank's own reports close the bank-file rail: each applied exactly once by its MsgId, ACSC
 * making a payout PAID and RJCT making it FAILED with its amount back in the seller's balance, and
 * whatever cannot be right (an unknown payout, another amount, a contradiction) changing nothing
 * but recorded for reconciliation. The reports here are written by hand, as a bank writes them.
 */
const r = useTestResources();

interface Sent {
  s: UploadSetup;
  folders: ReturnType<typeof bankFolders>;
  msgId: string;
  payouts: Array<{ id: string; amount: bigint; seller: string }>;
  ingest: () => ReturnType<typeof ingestBankReports>;
}

async function sentFile(): Promise<Sent> {
  const s = await uploadSetup(r, 1);
  await bankCycle(r, s, 'SG', 'SG=bank-file');
  const folders = bankFolders(r);
  const [msgId] = (await sendBankFiles({ db: s.db, dataDir: s.dataDir, outboundDir: folders.outboundDir, environment: 'TEST', logger: bankLogger })).transmitted;
  const rows = (await s.db('payout').where({ bank_msg_id: msgId }).orderBy('id').select(s.db.raw('CAST(id AS CHAR) AS id'), s.db.raw('CAST(amount_minor AS CHAR) AS amount'), s.db.raw('CAST(shop_user_id AS CHAR) AS seller'))) as Array<{ id: string; amount: string; seller: string }>;
  const outbox = new OutboxWriter(s.codec, s.registry);
  const resultsTopic = await r.topic('results', 1);
  await s.registry.register(`${resultsTopic}-value`, fs.readFileSync(path.join(PROJECT_ROOT, 'schemas', 'payout-result.avsc'), 'utf8'));
  return {
    s,
    folders,
    msgId: msgId!,
    payouts: rows.map((p) => ({ id: p.id, amount: BigInt(p.amount), seller: p.seller })),
    ingest: async () => ingestBankReports({ db: s.db, ids: s.ids, outbox, inboundDir: folders.inboundDir, logger: bankLogger, resultsTopic }),
  };
}

const statuses = async (s: UploadSetup) => Object.fromEntries(((await s.db('payout').where({ region: 'SG' }).select(s.db.raw('CAST(id AS CHAR) AS id'), 'status', 'failure_code')) as Array<{ id: string; status: string; failure_code: string | null }>).map((p) => [p.id, `${p.status}${p.failure_code ? ` ${p.failure_code}` : ''}`]));

test('ACCP changes nothing; the final report makes ACSC payouts PAID and RJCT ones FAILED with the reason and their amount back once; the same report again, or its copy, changes nothing', async () => {
  const t = await sentFile();
  const { s, folders, msgId, payouts } = t;
  writePain002(folders.inboundDir, 'BANK-0001', msgId, { status: 'ACCP' }, []);
  expect((await t.ingest()).applied).toEqual(['BANK-0001']);
  expect(Object.values(await statuses(s)).every((v) => v === 'SUBMITTED')).toBe(true);
  expect(await s.db('bank_file').where({ msg_id: msgId }).first('bank_status')).toEqual({ bank_status: 'ACCP' });

  const [closed, unknownBank] = [payouts[3]!, payouts[4]!];
  const txs = payouts.map((p) => (p === closed ? { endToEndId: p.id, status: 'RJCT', reason: 'AC04', amountMinor: p.amount } : p === unknownBank ? { endToEndId: p.id, status: 'RJCT', reason: 'AC01', amountMinor: p.amount } : { endToEndId: p.id, status: 'ACSC', amountMinor: p.amount }));
  writePain002(folders.inboundDir, 'BANK-0002', msgId, { status: 'PART' }, txs);
  // The bank sends the same report twice, under the same MsgId.
  writePain002(folders.inboundDir, 'BANK-0002', msgId, { status: 'PART' }, txs, 'BANK-0002-copy');
  const result = await t.ingest();
  expect(result.applied).toEqual(['BANK-0002']);
  expect(result.repeated).toEqual(['BANK-0002']);
  const after = await statuses(s);
  expect(after[closed.id]).toBe('FAILED AC04');
  expect(after[unknownBank.id]).toBe('FAILED AC01');
  expect(Object.values(after).filter((v) => v === 'PAID')).toHaveLength(payouts.length - 2);

  // Money: the paid ones left through BANK_CLEARING, nothing stays in flight, the refused two
  // are back in their sellers' balances in the open cycle, once each.
  const balances = await ledgerBalances(s.db);
  const paid = payouts.filter((p) => p !== closed && p !== unknownBank).reduce((a, p) => a + p.amount, 0n);
  expect(netOf(balances, 'SGD', 'PAYOUT_IN_FLIGHT')).toBe(0n);
  expect(netOf(balances, 'SGD', 'BANK_CLEARING')).toBe(paid);
  expect(await ledgerProblems(s.db)).toEqual([]);
  const returned = (await s.db('billing_item').where({ source: 'PAYOUT_RETURN' }).orderBy('source_ref').select('source_ref', s.db.raw('CAST(amount_minor AS CHAR) AS amount'), s.db.raw('CAST(cycle_id AS CHAR) AS cycle'))) as Array<Record<string, string>>;
  expect(returned).toEqual([closed, unknownBank].map((p) => ({ source_ref: p.id, amount: p.amount.toString(), cycle: cycleIdFor('SG', new Date()).toString() })));
  // One result per payout in the outbox, whatever was sent twice.
  expect(Number((await s.db('outbox').where('event_id', 'like', 'payout-result:%').count({ n: '*' }))[0]!.n)).toBe(payouts.length);
  expect(fs.readdirSync(path.join(folders.inboundDir, 'processed')).sort()).toEqual(['BANK-0001.xml', 'BANK-0002-copy.xml', 'BANK-0002.xml']);

  // The debit notification is kept for reconciliation.
  writeCamt054(folders.inboundDir, 'BANK-0003', msgId, payouts.filter((p) => p !== closed && p !== unknownBank).map((p) => ({ endToEndId: p.id, amountMinor: p.amount, currency: 'SGD' })));
  await t.ingest();
  expect(Number((await s.db('bank_debit').count({ n: '*' }))[0]!.n)).toBe(payouts.length - 2);
}, 120_000);

test('what cannot be right changes nothing and is recorded: an unknown EndToEndId, another amount, RJCT after ACSC, a second copy refused as a duplicate, a report for a file never sent', async () => {
  const t = await sentFile();
  const { s, folders, msgId, payouts } = t;
  const [a, b, c] = payouts;
  writePain002(folders.inboundDir, 'BANK-0001', msgId, { status: 'PART' }, [
    { endToEndId: '999999999999999999', status: 'ACSC', amountMinor: 5n },
    { endToEndId: a!.id, status: 'ACSC', amountMinor: a!.amount + 1n },
    { endToEndId: b!.id, status: 'ACSC', amountMinor: b!.amount },
  ]);
  writePain002(folders.inboundDir, 'BANK-0002', msgId, { status: 'PART' }, [{ endToEndId: b!.id, status: 'RJCT', reason: 'AM04', amountMinor: b!.amount }]);
  writePain002(folders.inboundDir, 'BANK-0003', msgId, { status: 'RJCT', reason: 'AM05' }, []);
  writePain002(folders.inboundDir, 'BANK-0004', 'TEST-SGSGD-1', { status: 'ACSC' }, []);
  fs.writeFileSync(path.join(folders.inboundDir, 'BANK-0005.xml'), '<Document><truncated');
  const result = await t.ingest();
  expect(result.applied).toEqual(['BANK-0001', 'BANK-0002', 'BANK-0003', 'BANK-0004']);
  expect(result.refused).toEqual(['BANK-0005.xml']);

  const after = await statuses(s);
  expect(after[a!.id]).toBe('SUBMITTED');
  expect(after[b!.id]).toBe('PAID');
  expect(after[c!.id]).toBe('SUBMITTED');
  const issues = (await s.db('bank_report_issue').orderBy('id').select('report_msg_id', 'kind', 'end_to_end_id')) as Array<Record<string, string | null>>;
  expect(issues).toEqual([
    { report_msg_id: 'BANK-0001', kind: 'UNKNOWN_END_TO_END_ID', end_to_end_id: '999999999999999999' },
    { report_msg_id: 'BANK-0001', kind: 'AMOUNT_MISMATCH', end_to_end_id: a!.id },
    { report_msg_id: 'BANK-0002', kind: 'STATUS_CONFLICT', end_to_end_id: b!.id },
    { report_msg_id: 'BANK-0003', kind: 'DUPLICATE_FILE', end_to_end_id: null },
    { report_msg_id: 'BANK-0004', kind: 'UNKNOWN_FILE', end_to_end_id: null },
  ]);
  // The detail is for a person taking it up with the bank: both amounts in major units.
  const mismatch = (await s.db('bank_report_issue').where({ kind: 'AMOUNT_MISMATCH' }).first('detail')) as { detail: string };
  expect(mismatch.detail).toBe(`payout ${a!.id} is ${formatMoney(a!.amount, 'SGD')}; the report says ${formatMoney(a!.amount + 1n, 'SGD')}`);
  expect(await s.db('billing_item').where({ source: 'PAYOUT_RETURN' }).count({ n: '*' })).toEqual([{ n: '0' }]);
  expect(fs.readdirSync(path.join(folders.inboundDir, 'refused'))).toEqual(['BANK-0005.xml']);
}, 120_000);

test('a whole file rejected fails every payout of it with the reason and returns each amount once', async () => {
  const t = await sentFile();
  writePain002(t.folders.inboundDir, 'BANK-0001', t.msgId, { status: 'RJCT', reason: 'FF01' }, []);
  await t.ingest();
  expect(new Set(Object.values(await statuses(t.s)))).toEqual(new Set(['FAILED FF01']));
  expect(Number((await t.s.db('billing_item').where({ source: 'PAYOUT_RETURN' }).count({ n: '*' }))[0]!.n)).toBe(BANK_SELLERS.length);
  expect(await ledgerProblems(t.s.db)).toEqual([]);
}, 120_000);

test('`sts bank ingest` killed with SIGKILL in the middle of a report applied none of it; the next run applies all of it once', async () => {
  const t = await sentFile();
  const { s, folders, msgId, payouts } = t;
  writePain002(folders.inboundDir, 'BANK-0001', msgId, { status: 'ACSC' }, payouts.map((p) => ({ endToEndId: p.id, status: 'ACSC', amountMinor: p.amount })));
  // Hold one payout's row lock, so the ingestion stops inside its transaction, after recording
  // the report and before committing it.
  const blocker = await s.db.transaction();
  await blocker.raw('SELECT id FROM payout WHERE id = ? FOR UPDATE', [payouts[payouts.length - 1]!.id]);
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'sts.js'), 'bank', 'ingest'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, STS_MYSQL_URL: s.url, STS_BANK_INBOUND_DIR: folders.inboundDir, STS_DATA_DIR: s.dataDir },
    stdio: 'ignore',
  });
  await waitFor('the ingestion waiting on the lock', async () => {
    const [rows] = (await s.db.raw("SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'")) as [Array<{ n: number }>];
    return Number(rows[0]!.n) > 0;
  }, 60_000, 100);
  child.kill('SIGKILL');
  await new Promise((res) => child.once('exit', res));
  await blocker.rollback();

  expect(await s.db('bank_report').count({ n: '*' })).toEqual([{ n: '0' }]);
  expect(Object.values(await statuses(s)).every((v) => v === 'SUBMITTED')).toBe(true);
  expect(fs.existsSync(path.join(folders.inboundDir, 'BANK-0001.xml'))).toBe(true);

  expect((await t.ingest()).applied).toEqual(['BANK-0001']);
  expect(Object.values(await statuses(s)).every((v) => v === 'PAID')).toBe(true);
  expect(Number((await s.db('outbox').where('event_id', 'like', 'payout-result:%').count({ n: '*' }))[0]!.n)).toBe(payouts.length);
  expect(await ledgerProblems(s.db)).toEqual([]);
}, 180_000);
