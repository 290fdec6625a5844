import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Knex } from '../../runtime/db/knex';
import { intList } from '../../runtime/db/int-list';
import { Lease } from '../../runtime/db/lease';
import { resolveStoredPath, storedPathOf } from '../../runtime/fs/stored-path';
import { LockUnavailableError } from '../../runtime/db/db-errors';
import { PayoutFileInvalidError } from '../payout-file/payout-file-errors';
import type { Logger } from '../../runtime/logger';
import { formatMinorAmount } from '../../runtime/money/decimal-amount';
import { formatMoneyText } from '../../runtime/money/money-text';
import { PAIN001_MAX_MINOR } from '../../runtime/money/money-bounds';
import type { PayeeDetails } from '../../runtime/payees/payee-details';
import { tccTry } from '../../runtime/payment-ledger/tcc-ledger';
import { writeFileAtomic } from '../payout-file/atomic-write';
import { currencyExponent } from '../payout-file/pain001-writer';
import { bankFileProblems } from './bank-file-verify';
import { renderBankFile, type BankFileHeader, type BankTransfer } from './bank-pain001';

/**
 * The bank-file rail's outbound side: every PENDING payout of the rail goes to the bank in exactly
 * one pain.001, transmitted once. In four steps, each a no-op once done, so a run killed anywhere
 * is finished by the next one:
 *   1. assign: PENDING bank-file payouts not yet in a file are given one (bank_file ASSIGNED,
 *      payout.bank_msg_id), at most FILE_MAX_TXS per file and a control sum within 18 digits;
 *   2. write: the file rendered from the database, written atomically, read back and verified
 *      against the database (WRITTEN); a file that fails stays ASSIGNED and nothing is paid;
 *   3. submit: in one transaction its payouts are TRIED in the payment ledger (settlement -> in
 *      flight) and become SUBMITTED, as on the gateway rail (SUBMITTED);
 *   4. transmit: the file is linked into the bank's outbound folder under its MsgId, never over
 *      an existing file (TRANSMITTED). A crash after the link and before the mark finds the same
 *      bytes there next time and only marks it. Should the bank have taken the file away in
 *      between, it is put there again, and the bank refuses it as a duplicate MsgId: a file is
 *      executed at most once by the bank's own rule, and the duplicate's rejection changes nothing
 *      here (bank status ingestion ignores a duplicate-file report for a file already accepted).
 * The files of one environment are named `<STS_ENVIRONMENT>-<region><currency>-<first payout id>`,
 * unique per file and environment, which is what the bank deduplicates on.
 *
 * One sender at a time, the holder of the `sts.bank-send` lease (runtime/db/lease.ts): two
 * assigning at once would race for the same payouts. Every write is fenced by the lease, and it is
 * confirmed with the database before each file, so a sender that lost it stops there.
 */
export const FILE_MAX_TXS = 5000;

export interface BankSendDeps {
  db: Knex;
  dataDir: string;
  /** Where payout and bank files are written (STS_PAYOUT_FILES_DIR); default dataDir. */
  payoutFilesDir?: string;
  outboundDir: string;
  environment: string;
  logger: Logger;
}

export interface BankSendResult {
  assigned: string[];
  transmitted: string[];
}

export interface BankSendOptions {
  region?: string;
  /** Stop after this step: `write` leaves files to review before any money is reserved. */
  until?: 'write' | 'submit' | 'transmit';
  onProgress?: (line: string) => void;
}

export async function sendBankFiles(deps: BankSendDeps, opts: BankSendOptions = {}): Promise<BankSendResult> {
  const lease = new Lease(deps.db, 'sts.bank-send', {
    onLost: (err) => deps.logger.warn({ err }, 'bank sender lost its lease; stopping before its next file'),
  });
  if (!(await lease.tryAcquire())) throw new LockUnavailableError(lease.name, 'another bank sender is running');
  try {
    const say = opts.onProgress ?? (() => undefined);
    const until = opts.until ?? 'transmit';
    const assigned = await assignFiles(deps, lease, opts.region);
    for (const f of await filesIn(deps.db, 'ASSIGNED', opts.region)) await writeFile(deps, lease, f);
    const transmitted: string[] = [];
    if (until === 'write') return { assigned, transmitted };
    for (const f of await filesIn(deps.db, 'WRITTEN', opts.region)) await submitFile(deps.db, lease, f.msg_id);
    if (until === 'submit') return { assigned, transmitted };
    for (const f of await filesIn(deps.db, 'SUBMITTED', opts.region)) {
      await transmitFile(deps, lease, f);
      transmitted.push(f.msg_id);
      say(`  ${f.msg_id}: ${f.tx_count} transfers, ${formatMoneyText(f.ctrl_sum_minor, f.currency)}, sent to the bank`);
    }
    return { assigned, transmitted };
  } finally {
    await lease.release();
  }
}

interface FileRow {
  msg_id: string;
  region: string;
  currency: string;
  status: string;
  tx_count: number;
  ctrl_sum_minor: string;
  path: string | null;
  sha256: string | null;
  created_at: Date;
}

async function filesIn(db: Knex, status: string, region?: string): Promise<FileRow[]> {
  const q = db('bank_file').select('msg_id', 'region', 'currency', 'status', 'tx_count', db.raw('CAST(ctrl_sum_minor AS CHAR) AS ctrl_sum_minor'), 'path', 'sha256', 'created_at').where({ status }).orderBy('msg_id');
  if (region) q.where({ region });
  return (await q) as FileRow[];
}

async function assignFiles(deps: BankSendDeps, lease: Lease, region?: string): Promise<string[]> {
  const made: string[] = [];
  for (;;) {
    await lease.assertHeld();
    const msgId = await deps.db.transaction(async (trx) => {
      const [rows] = (await trx.raw(
        `SELECT CAST(id AS CHAR) AS id, region, currency, CAST(amount_minor AS CHAR) AS amount_minor FROM payout
          WHERE rail = 'bank-file' AND status = 'PENDING' AND bank_msg_id IS NULL${region ? ' AND region = ?' : ''}
          ORDER BY region, id LIMIT ? FOR UPDATE`,
        (region ? [region, FILE_MAX_TXS] : [FILE_MAX_TXS]) as unknown as string[],
      )) as [Array<{ id: string; region: string; currency: string; amount_minor: string }>];
      if (rows.length === 0) return undefined;
      // One region and currency per file, and a control sum a pain.001 can hold.
      const first = rows[0]!;
      const chosen: bigint[] = [];
      let sum = 0n;
      for (const r of rows) {
        if (r.region !== first.region || r.currency !== first.currency) break;
        const amount = BigInt(r.amount_minor);
        if (chosen.length > 0 && sum + amount > PAIN001_MAX_MINOR) break;
        sum += amount;
        chosen.push(BigInt(r.id));
      }
      const id = `${deps.environment}-${first.region}${first.currency}-${first.id}`;
      await trx('bank_file').insert({ msg_id: id, region: first.region, currency: first.currency, status: 'ASSIGNED', tx_count: chosen.length, ctrl_sum_minor: sum.toString(), created_at: secondsOnly(new Date()) });
      await trx.raw(`UPDATE payout SET bank_msg_id = ?, updated_at = NOW(3) WHERE id IN (${intList(chosen)}) AND bank_msg_id IS NULL`, [id]);
      await lease.fence(trx);
      return id;
    });
    if (!msgId) return made;
    made.push(msgId);
  }
}

/** CreDtTm has whole seconds; the row keeps the same instant, so a rewrite renders the same bytes. */
const secondsOnly = (d: Date) => new Date(Math.floor(d.getTime() / 1000) * 1000);

/** What the file must hold, from the database: its payouts in id order, each with its frozen payee. */
export async function bankFileContent(db: Knex, f: Pick<FileRow, 'msg_id' | 'region' | 'currency' | 'created_at'>): Promise<{ header: BankFileHeader; transfers: BankTransfer[] }> {
  const [rows] = (await db.raw(
    `SELECT CAST(p.id AS CHAR) AS id, CAST(p.cycle_id AS CHAR) AS cycle_id, CAST(p.amount_minor AS CHAR) AS amount_minor, p.currency,
            a.holder_name, a.account, a.account_scheme, a.bank_id, a.bank_scheme, a.country
       FROM payout p LEFT JOIN payee_account a ON a.id = p.payee_account_id
      WHERE p.bank_msg_id = ? ORDER BY p.id`,
    [f.msg_id],
  )) as [Array<Record<string, string | null>>];
  const transfers = rows.map((r): BankTransfer => {
    if (r.holder_name === null)
      throw new PayoutFileInvalidError(`payout ${r.id} in ${f.msg_id} has no payee account`, { msgId: f.msg_id, payoutId: r.id });
    if (r.currency !== f.currency) throw new PayoutFileInvalidError(`payout ${r.id} is in ${r.currency}, file ${f.msg_id} in ${f.currency}`, { msgId: f.msg_id });
    const payee: PayeeDetails = {
      holderName: r.holder_name!,
      account: r.account!,
      accountScheme: r.account_scheme as PayeeDetails['accountScheme'],
      bankId: r.bank_id!,
      bankScheme: r.bank_scheme as PayeeDetails['bankScheme'],
      country: r.country!,
    };
    return { payoutId: BigInt(r.id!), cycleId: BigInt(r.cycle_id!), amountMinor: BigInt(r.amount_minor!), payee };
  });
  return { header: { msgId: f.msg_id, region: f.region, currency: f.currency, createdAt: f.created_at }, transfers };
}

async function writeFile(deps: BankSendDeps, lease: Lease, f: FileRow): Promise<void> {
  await lease.assertHeld();
  const { header, transfers } = await bankFileContent(deps.db, f);
  const xml = renderBankFile(header, transfers);
  const target = path.join(path.resolve(deps.dataDir, deps.payoutFilesDir ?? '.'), 'bank-files', f.region, `${f.msg_id}.xml`);
  // Same rows, same bytes: a rewrite after a crash replaces a file with itself.
  await writeFileAtomic(target, xml);
  const exponent = currencyExponent(f.currency)!;
  const problems = bankFileProblems(await fs.readFile(target, 'utf8'), header, transfers, (m) => formatMinorAmount(m, exponent));
  if (problems.length > 0)
    throw new PayoutFileInvalidError(`${f.msg_id} does not match the database: ${problems.slice(0, 3).join('; ')}`, { msgId: f.msg_id });
  const sha256 = crypto.createHash('sha256').update(xml).digest('hex');
  await deps.db.transaction(async (trx) => {
    await trx('bank_file').where({ msg_id: f.msg_id, status: 'ASSIGNED' }).update({ status: 'WRITTEN', path: storedPathOf(deps.dataDir, target), sha256, written_at: new Date() });
    await lease.fence(trx);
  });
}

async function submitFile(db: Knex, lease: Lease, msgId: string): Promise<void> {
  await lease.assertHeld();
  await db.transaction(async (trx) => {
    const file = (await trx('bank_file').where({ msg_id: msgId }).forUpdate().first('status')) as { status: string } | undefined;
    if (file?.status !== 'WRITTEN') return;
    const [rows] = (await trx.raw(`SELECT CAST(id AS CHAR) AS id, currency, CAST(amount_minor AS CHAR) AS amount_minor, status FROM payout WHERE bank_msg_id = ? ORDER BY id FOR UPDATE`, [msgId])) as [Array<{ id: string; currency: string; amount_minor: string; status: string }>];
    // Only PENDING payouts are ever assigned, and nothing but this step moves them on.
    const odd = rows.find((r) => r.status !== 'PENDING');
    if (odd) throw new PayoutFileInvalidError(`payout ${odd.id} in ${msgId} is ${odd.status}, not PENDING`, { msgId });
    const ids = rows.map((r) => BigInt(r.id));
    await trx.raw(`UPDATE payout SET status = 'SUBMITTED', attempts = attempts + 1, updated_at = NOW(3) WHERE id IN (${intList(ids)}) AND status = 'PENDING'`);
    await trx('bank_file').where({ msg_id: msgId }).update({ status: 'SUBMITTED', submitted_at: new Date() });
    // Last: the ledger rows are the hottest locks, held from here until COMMIT.
    await tccTry(trx, rows.map((r) => ({ txId: BigInt(r.id), currency: r.currency, amountMinor: BigInt(r.amount_minor) })));
    await lease.fence(trx);
  });
}

async function transmitFile(deps: BankSendDeps, lease: Lease, f: FileRow): Promise<void> {
  // Confirmed before the file reaches the bank's folder, which no transaction can take back.
  await lease.assertHeld();
  const bytes = await fs.readFile(resolveStoredPath(deps.dataDir, f.path!));
  if (crypto.createHash('sha256').update(bytes).digest('hex') !== f.sha256)
    throw new PayoutFileInvalidError(`${f.path} changed since it was verified`, { msgId: f.msg_id });
  const target = path.join(deps.outboundDir, `${f.msg_id}.xml`);
  if ((await writeFileAtomic(target, bytes, { overwrite: false })) === 'exists') {
    const there = await fs.readFile(target);
    if (!there.equals(bytes)) throw new PayoutFileInvalidError(`${target} exists with other bytes`, { msgId: f.msg_id });
  }
  await deps.db.transaction(async (trx) => {
    await trx('bank_file').where({ msg_id: f.msg_id, status: 'SUBMITTED' }).update({ status: 'TRANSMITTED', transmitted_at: new Date() });
    await lease.fence(trx);
  });
  deps.logger.info({ msgId: f.msg_id, transfers: f.tx_count }, 'bank file transmitted');
}
