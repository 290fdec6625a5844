import fs from 'node:fs';
import path from 'node:path';
import { formatMinorAmount } from '../../../runtime/money/decimal-amount';
import { ledgerBalances, ledgerProblems, netOf } from '../../../runtime/payment-ledger/ledger-balances';
import { bankFileProblems } from '../../../settlement/bank-file/bank-file-verify';
import { bankFileContent, sendBankFiles } from '../../../settlement/bank-file/bank-sender';
import { PROJECT_ROOT } from '../../../runtime/config';
import { appendBillingItems } from '../../../runtime/billing/billing-ledger';
import { cycleBounds, cycleIdFor } from '../../../runtime/billing/cycle-calendar';
import { ensureCycle } from '../../../runtime/billing/cycle-resolver';
import { createDb } from '../../../runtime/db/knex';
import { Lease } from '../../../runtime/db/lease';
import { parsePayoutRails } from '../../../runtime/payouts/payout-rails';
import { closeCycle } from '../../../settlement/cycle-close/close-cycle';
import { OutboxWriter } from '../../../runtime/outbox/outbox-writer';
import { setPayee } from '../../../runtime/payees/payee-registry';
import { releasePayout } from '../../../services/payouts/payout-holds';
import { syntheticPayee } from '../../../tools/demo/synthetic-payees';
import { useTestResources } from '../../fixtures/resources';
import { uploadSetup, type UploadSetup } from '../../fixtures/upload-harness';
import { BANK_SELLERS, bankCycle as bankCycleOf, bankFolders, bankLogger } from '../../fixtures/bank-rail';

/**
 * The bank-file rail's outbound side against the real database: every PENDING bank-file payout
 * travels in exactly one verified pain.001 that names its payee, its money is TRIED when the file
 * is submitted, and the file lands in the outbound folder once, however often the sender runs or
 * wherever it stopped.
 */
const r = useTestResources();
const SELLERS = BANK_SELLERS;
const bankCycle = (s: UploadSetup, region: 'SG' | 'MY', rails: string) => bankCycleOf(r, s, region, rails);

function senderDeps(s: UploadSetup) {
  const { outboundDir } = bankFolders(r);
  return { db: s.db, dataDir: s.dataDir, outboundDir, environment: 'TEST', logger: bankLogger };
}

test('every PENDING bank-file payout goes out once, in a verified pain.001 naming its payee, TRIED when submitted; gateway payouts never', async () => {
  const s = await uploadSetup(r, 1);
  await bankCycle(s, 'SG', 'SG=bank-file');
  await bankCycle(s, 'MY', '');
  const deps = senderDeps(s);

  const sent = await sendBankFiles(deps);
  expect(sent.transmitted).toEqual([`TEST-SGSGD-${(await s.db('payout').where({ region: 'SG' }).min({ id: 'id' }))[0]!.id}`]);
  const [msgId] = sent.transmitted;
  expect(fs.readdirSync(deps.outboundDir)).toEqual([`${msgId}.xml`]);

  const sg = (await s.db('payout').where({ region: 'SG' }).select('status', 'bank_msg_id', 'rail')) as Array<Record<string, string>>;
  expect(sg.every((p) => p.status === 'SUBMITTED' && p.bank_msg_id === msgId && p.rail === 'bank-file')).toBe(true);
  const my = (await s.db('payout').where({ region: 'MY' }).select('status', 'bank_msg_id')) as Array<Record<string, string | null>>;
  expect(my.every((p) => p.status === 'PENDING' && p.bank_msg_id === null)).toBe(true);

  // The file holds exactly the database's payouts with their payees, and validates by our reading.
  const file = (await s.db('bank_file').where({ msg_id: msgId }).first()) as Record<string, unknown>;
  expect(file).toMatchObject({ status: 'TRANSMITTED', tx_count: SELLERS.length });
  const xml = fs.readFileSync(path.join(deps.outboundDir, `${msgId}.xml`), 'utf8');
  const content = await bankFileContent(s.db, file as never);
  expect(bankFileProblems(xml, content.header, content.transfers, (m) => formatMinorAmount(m, 2))).toEqual([]);
  expect(xml).toContain('<IBAN>DE89370400440532013000</IBAN>');
  expect(xml).toContain('<Nm>Müller &amp; Söhne &lt;GmbH&gt;</Nm>');
  expect(xml).toContain('<MmbId>7171</MmbId>');
  expect(xml.match(/<CdtTrfTxInf>/g)).toHaveLength(SELLERS.length);

  // Money reserved: every SG payout TRIED once, nothing else moved.
  const total = content.transfers.reduce((a, t) => a + t.amountMinor, 0n);
  const balances = await ledgerBalances(s.db);
  expect(netOf(balances, 'SGD', 'PAYOUT_IN_FLIGHT')).toBe(total);
  expect(balances.get('MYR')).toBeUndefined();
  expect(await ledgerProblems(s.db)).toEqual([]);

  // Run again: nothing to do, nothing sent twice.
  expect(await sendBankFiles(deps)).toEqual({ assigned: [], transmitted: [] });
  expect(fs.readdirSync(deps.outboundDir)).toEqual([`${msgId}.xml`]);
}, 120_000);

test('a sender stopped after any step is finished by the next run, and the outbound folder gets each file once', async () => {
  const s = await uploadSetup(r, 1);
  await bankCycle(s, 'SG', 'SG=bank-file');
  const deps = senderDeps(s);
  const tried = async () => Number((await s.db('tcc_state').count({ n: '*' }))[0]!.n);

  // Stopped after writing: a verified file, nothing reserved, nothing sent.
  const [msgId] = (await sendBankFiles(deps, { until: 'write' })).assigned;
  expect(await s.db('bank_file').where({ msg_id: msgId }).first('status')).toEqual({ status: 'WRITTEN' });
  expect(await tried()).toBe(0);
  expect((await s.db('payout').where({ region: 'SG' }).distinct('status')).map((p: { status: string }) => p.status)).toEqual(['PENDING']);

  // The outbound folder cannot be written (here a file stands where it should be): the payouts
  // are TRIED and SUBMITTED, the transmission fails, and the file waits as SUBMITTED.
  const blocked = { ...deps, outboundDir: path.join(deps.outboundDir, 'not-a-dir') };
  fs.writeFileSync(blocked.outboundDir, '');
  await expect(sendBankFiles(blocked)).rejects.toThrow();
  expect(await s.db('bank_file').where({ msg_id: msgId }).first('status')).toEqual({ status: 'SUBMITTED' });
  expect(await tried()).toBe(SELLERS.length);

  // The next run transmits it, and tries nothing again.
  expect((await sendBankFiles(deps)).transmitted).toEqual([msgId]);
  expect(await tried()).toBe(SELLERS.length);
  const xml = fs.readFileSync(path.join(deps.outboundDir, `${msgId}.xml`));

  // Killed after linking the file into the outbound folder, before marking it: the same bytes are
  // found there and the file is only marked.
  await s.db('bank_file').where({ msg_id: msgId }).update({ status: 'SUBMITTED', transmitted_at: null });
  expect((await sendBankFiles(deps)).transmitted).toEqual([msgId]);
  expect(fs.readFileSync(path.join(deps.outboundDir, `${msgId}.xml`)).equals(xml)).toBe(true);
  expect(fs.readdirSync(deps.outboundDir).filter((f) => f.endsWith('.xml'))).toEqual([`${msgId}.xml`]);

  // Another file under that name with other bytes is never overwritten: the sender stops and says so.
  await s.db('bank_file').where({ msg_id: msgId }).update({ status: 'SUBMITTED' });
  fs.writeFileSync(path.join(deps.outboundDir, `${msgId}.xml`), 'something else');
  await expect(sendBankFiles(deps)).rejects.toThrow(/exists with other bytes/);
  expect(fs.readFileSync(path.join(deps.outboundDir, `${msgId}.xml`), 'utf8')).toBe('something else');
  expect(await tried()).toBe(SELLERS.length);
}, 120_000);

test('a held bank-file payout an operator releases goes out in the next file, to the account registered since', async () => {
  const s = await uploadSetup(r, 1);
  const late = 652024209997829999n;
  await bankCycleOf(r, s, 'SG', 'SG=bank-file', [...SELLERS.slice(0, 2)]);
  const closing = (await s.db('payout').first(s.db.raw('CAST(cycle_id AS CHAR) AS c'))) as { c: string };
  const deps = senderDeps(s);
  const [first] = (await sendBankFiles(deps)).transmitted;
  // A seller with money and no payee account, as the close leaves it: held, and never sent.
  const heldId = s.ids.next();
  await s.db('payout').insert({ id: heldId.toString(), cycle_id: closing.c, region: 'SG', shop_user_id: late.toString(), currency: 'SGD', amount_minor: '4200', status: 'ON_HOLD', rail: 'bank-file', hold_reason: 'NO_PAYEE_ACCOUNT' });
  expect((await sendBankFiles(deps)).transmitted).toEqual([]);

  await setPayee(s.db, late, syntheticPayee(late, 'SGD'), 'cli:onboarding');
  const releasedTopic = await r.topic('released', 1);
  await s.registry.register(`${releasedTopic}-value`, fs.readFileSync(path.join(PROJECT_ROOT, 'schemas', 'payout.avsc'), 'utf8'));
  await releasePayout({ db: s.db, outbox: new OutboxWriter(s.codec, s.registry), payoutsTopic: releasedTopic }, heldId, { name: 'cli:ops', fourEyes: false });
  const [second] = (await sendBankFiles(deps)).transmitted;
  expect(second).toBe(`TEST-SGSGD-${heldId}`);
  expect(second).not.toBe(first);
  const row = (await s.db('payout').where({ id: heldId.toString() }).first('status', 'bank_msg_id')) as { status: string; bank_msg_id: string };
  expect(row).toEqual({ status: 'SUBMITTED', bank_msg_id: second });
  const xml = fs.readFileSync(path.join(deps.outboundDir, `${second}.xml`), 'utf8');
  expect(xml).toContain(`<Nm>Seller ${late}</Nm>`);
  expect(xml.match(/<CdtTrfTxInf>/g)).toHaveLength(1);
}, 120_000);

test('a close of a bank-file cycle while the bank rail is sending ends CLOSED and leaves its payouts to that sender', async () => {
  const s = await uploadSetup(r, 1);
  const current = cycleIdFor('SG', new Date());
  const closing = cycleBounds('SG', cycleIdFor('SG', new Date(cycleBounds('SG', current).startsAt.getTime() - 1)));
  await ensureCycle(s.db, 'SG', closing.cycleId);
  await s.db.transaction((trx) => appendBillingItems(trx, SELLERS.slice(0, 3).map((seller, i) => ({ id: s.ids.next(), region: 'SG', shopUserId: seller, currency: 'SGD', amountMinor: 5000n + BigInt(i), itemType: 'ADJUSTMENT', source: 'TEST', sourceRef: `race-${i}`, cycleId: closing.cycleId }))));
  for (const seller of SELLERS.slice(0, 3)) await setPayee(s.db, seller, syntheticPayee(seller, 'SGD'), 'cli:test');
  const payoutsTopic = await r.topic('payouts', 1);
  await s.registry.register(`${payoutsTopic}-value`, fs.readFileSync(path.join(PROJECT_ROOT, 'schemas', 'payout.avsc'), 'utf8'));
  const deps = senderDeps(s);

  // Another process (`sts run all`'s bank rail) holds the sender's lease.
  const other = createDb(s.url, { pool: 1 });
  r.defer(() => other.destroy());
  const held = new Lease(other, 'sts.bank-send');
  expect(await held.tryAcquire()).toBe(true);
  const lines: string[] = [];
  const result = await closeCycle(
    { db: s.db, kafka: r.kafka, ids: s.ids, outbox: new OutboxWriter(s.codec, s.registry), dataDir: s.dataDir, logger: bankLogger },
    { region: 'SG', cutoff: closing.cutoffAt, plan: { inputs: [], derived: [] }, payoutsTopic, rails: parsePayoutRails('SG=bank-file'), payeeCooloffHours: 0, bank: { outboundDir: deps.outboundDir, environment: 'TEST' }, onProgress: (l) => lines.push(l) },
  );
  expect(result.byStatus).toEqual({ PENDING: 3 });
  expect(await s.db('settlement_cycle').where({ region: 'SG', cycle_id: closing.cycleId.toString() }).first('status')).toEqual({ status: 'CLOSED' });
  expect(lines).toContain('bank files: another sender is running and will send them');
  await held.release();
  expect((await sendBankFiles(deps)).transmitted).toHaveLength(1);
}, 120_000);
