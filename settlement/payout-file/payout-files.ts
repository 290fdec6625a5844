import crypto from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Knex } from 'knex';
import { PayoutFileConflictError, PayoutFileInvalidError } from './payout-file-errors';
import { storedPathOf } from '../../runtime/fs/stored-path';
import { regionInfo } from '../../runtime/money/regions';
import { AtomicFile, writeFileAtomic } from './atomic-write';
import { MANIFEST_FORMAT, manifestPathFor, PayoutIdChecksum, renderManifest } from './manifest';
import {
  checkKey,
  DOCUMENT_TAIL,
  formatAmount,
  payoutFileName,
  renderHeader,
  renderTransaction,
  type PayoutFileKey,
} from './pain001-writer';
import {
  PAGE_SIZE,
  payableGroups,
  payablePages,
  payableParts,
  fileRowKey,
  type PayableGroup,
  type IdRange,
} from './payout-pages';
import { verifyPayoutFile, type VerifyCheck, type VerifyResult } from './payout-file-verify';

/**
 * Writes the payout files of one region's cycle, one per currency, and releases each only after
 * it verifies against the database.
 *
 * Inputs: a migrated database, STS_DATA_DIR, a region and a cycle id, and where the files go
 * (STS_PAYOUT_FILES_DIR, the data dir by default). Outputs, per currency,
 * `<filesDir>/payout-files/<region>/<cycle>/pain001-<region>-<cycle>-<currency>.xml`, its
 * `.manifest.json`, and a `payout_file` row: RELEASED once verify passed, WRITTEN when it failed
 * (the failures are returned, nothing is thrown). A row that is RELEASED stays RELEASED.
 * A currency whose payouts total more than a CtrlSum's 18 digits hold is written as parts,
 * `...-<currency>-p1.xml`, `-p2`, ..., each with its own manifest and row (payableParts), so a
 * close never stops on a control sum.
 *
 * - All payouts are read in ONE repeatable-read snapshot, so the totals in the header and the
 *   lines after it come from the same state even while payouts change.
 * - Memory is bounded by a page: payouts are read 10k at a time (keyset on id), each page is
 *   rendered to one string and written through the file handle, and the SHA-256 is computed on
 *   the way out.
 * - Regeneration gives identical bytes. A file that exists with the same bytes is left alone and
 *   reported 'unchanged'; one with other bytes (or a RELEASED row recording other bytes) is
 *   refused with STS_PAYOUT_FILE_CONFLICT: a released file must never silently change. New files
 *   are published with a no-clobber link, so two concurrent runs cannot replace each other's.
 *
 * Failure codes: STS_PAYOUT_FILE_INVALID (a payout that cannot be paid by file), STS_PAYOUT_FILE_CONFLICT,
 * STS_ATOMIC_WRITE_FAILED; database errors pass through.
 */
export interface PayoutFileOutcome {
  currency: string;
  /** Set when the currency is split over several files. */
  part?: number;
  /** Absolute path of the XML. */
  path: string;
  /** As stored in payout_file.path (runtime/fs/stored-path.ts): relative to the data dir, or absolute outside it. */
  relativePath: string;
  manifestPath: string;
  state: 'written' | 'unchanged';
  status: 'WRITTEN' | 'RELEASED';
  sha256: string;
  nbOfTxs: number;
  ctrlSumMinor: bigint;
  /** Pages read from the database, and the most payouts held in memory at once. */
  pages: number;
  maxPageRows: number;
  verify: VerifyResult;
}

export interface WritePayoutFilesResult {
  region: string;
  cycleId: bigint;
  ok: boolean;
  files: PayoutFileOutcome[];
  /** Every failed verify check, with the file it belongs to. */
  failures: Array<VerifyCheck & { file: string }>;
}

type Generated = Omit<PayoutFileOutcome, 'status' | 'verify'>;

export async function writePayoutFiles(
  db: Knex,
  dataDir: string,
  region: string,
  cycleId: bigint,
  opts: {
    /** The folder the files go under (STS_PAYOUT_FILES_DIR); default dataDir. */
    filesDir?: string;
    pageSize?: number;
    /** Runs after the files are written and the snapshot is closed, before verification: the
     * window in which a concurrent writer can change payouts. Tests use it to be that writer. */
    beforeVerify?: () => Promise<void>;
    /** The close's lease fence (runtime/db/lease.ts), the last statement of each payout_file write. */
    fence?: (trx: Knex.Transaction) => Promise<void>;
  } = {},
): Promise<WritePayoutFilesResult> {
  if (!regionInfo(region)) throw new PayoutFileInvalidError(`unknown region ${region}`, { region });
  const dir = path.join(path.resolve(dataDir, opts.filesDir ?? '.'), 'payout-files', region, cycleId.toString());
  const generated = await db.transaction(
    async (trx) => {
      const out: Generated[] = [];
      for (const group of await payableGroups(trx, region, cycleId)) {
        for (const part of await payableParts(trx, region, cycleId, group)) {
          out.push(
            await generateFile(
              trx,
              dataDir,
              dir,
              part.key,
              part,
              opts.pageSize ?? PAGE_SIZE,
              part.range,
            ),
          );
        }
      }
      return out;
    },
    // Not readOnly: knex renders it as `SET TRANSACTION ... READ ONLY`, which MariaDB rejects.
    { isolationLevel: 'repeatable read' },
  );

  await opts.beforeVerify?.();
  const files: PayoutFileOutcome[] = [];
  const failures: WritePayoutFilesResult['failures'] = [];
  for (const g of generated) {
    const verify = await verifyPayoutFile(g.path, db);
    const key = { region, cycleId, currency: g.currency, ...(g.part ? { part: g.part } : {}) };
    const status = await db.transaction(async (trx) => {
      const recorded = await recordFile(trx, key, g, verify.ok);
      await opts.fence?.(trx);
      return recorded;
    });
    files.push({ ...g, status, verify });
    for (const c of verify.checks) if (!c.ok) failures.push({ ...c, file: g.path });
  }
  return { region, cycleId, ok: failures.length === 0, files, failures };
}

async function generateFile(
  trx: Knex,
  dataDir: string,
  dir: string,
  key: PayoutFileKey,
  totals: PayableGroup,
  pageSize: number,
  range: IdRange,
): Promise<Generated> {
  const { exponent } = checkKey(key);
  const target = path.join(dir, payoutFileName(key));
  const hash = crypto.createHash('sha256');
  const ids = new PayoutIdChecksum();
  let count = 0;
  let sum = 0n;
  let pages = 0;
  let maxPageRows = 0;

  const file = await AtomicFile.open(target);
  let committed: 'written' | 'exists';
  let sha256: string;
  try {
    const write = async (text: string) => {
      const bytes = Buffer.from(text, 'utf8');
      hash.update(bytes);
      await file.write(bytes);
    };
    await write(renderHeader(key, totals));
    for await (const page of payablePages(trx, key, pageSize, range)) {
      pages++;
      maxPageRows = Math.max(maxPageRows, page.length);
      const parts: string[] = [];
      for (const p of page) {
        parts.push(renderTransaction(key, exponent, p));
        ids.add(p.id);
        count++;
        sum += p.amountMinor;
      }
      await write(parts.join(''));
    }
    await write(DOCUMENT_TAIL);
    // The header was written from the totals before the lines; in one snapshot they must agree.
    if (count !== totals.nbOfTxs || sum !== totals.ctrlSumMinor) {
      throw new PayoutFileInvalidError(
        `${payoutFileName(key)}: lines (${count}, ${sum}) disagree with the totals (${totals.nbOfTxs}, ${totals.ctrlSumMinor}) read in the same snapshot`,
        { ...key, cycleId: key.cycleId.toString() },
      );
    }
    sha256 = hash.digest('hex');
    await refuseIfReleasedDiffers(trx, key, target, sha256);
    committed = await file.commit({ overwrite: false });
  } catch (err) {
    await file.abort();
    throw err;
  }
  if (committed === 'exists') {
    const existing = await sha256OfFile(target);
    if (existing !== sha256)
      throw new PayoutFileConflictError(
        target,
        `exists with sha256 ${existing}; regenerating it gives ${sha256}`,
      );
  }

  const idSummary = ids.summary();
  const manifestPath = manifestPathFor(target);
  const manifest = renderManifest({
    format: MANIFEST_FORMAT,
    messageFormat: 'pain.001.001.09',
    region: key.region,
    currency: key.currency,
    cycleId: key.cycleId.toString(),
    fileName: path.basename(target),
    nbOfTxs: count,
    ctrlSum: formatAmount(sum, exponent, 'CtrlSum'),
    ctrlSumMinor: sum.toString(),
    sha256,
    payoutIds: idSummary,
  });
  if ((await writeFileAtomic(manifestPath, manifest, { overwrite: false })) === 'exists') {
    if ((await fs.readFile(manifestPath, 'utf8')) !== manifest)
      throw new PayoutFileConflictError(manifestPath, 'the manifest exists with other content');
  }

  return {
    currency: key.currency,
    ...(key.part ? { part: key.part } : {}),
    path: target,
    relativePath: storedPathOf(dataDir, target),
    manifestPath,
    state: committed === 'written' ? 'written' : 'unchanged',
    sha256,
    nbOfTxs: count,
    ctrlSumMinor: sum,
    pages,
    maxPageRows,
  };
}

/** A RELEASED row records the bytes that went out; a file deleted and regenerated must match them. */
async function refuseIfReleasedDiffers(
  db: Knex,
  key: PayoutFileKey,
  target: string,
  sha256: string,
): Promise<void> {
  const row = (await db('payout_file')
    .first('sha256', 'status')
    .where(fileRowKey(key))) as { sha256: string; status: string } | undefined;
  if (row?.status === 'RELEASED' && row.sha256 !== sha256) {
    throw new PayoutFileConflictError(
      target,
      `was released with sha256 ${row.sha256}; regenerating it gives ${sha256}`,
    );
  }
}

/** Upserts the payout_file row and returns its status afterwards. RELEASED is never taken back. */
async function recordFile(
  db: Knex,
  key: PayoutFileKey,
  g: Generated,
  verified: boolean,
): Promise<'WRITTEN' | 'RELEASED'> {
  const status = verified ? 'RELEASED' : 'WRITTEN';
  const where = fileRowKey(key);
  // MySQL applies the assignments left to right: released_at must read the old status.
  await db.raw(
    `INSERT INTO payout_file (region, cycle_id, currency, part, path, sha256, tx_count, ctrl_sum_minor, status, released_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, IF(? = 'RELEASED', CURRENT_TIMESTAMP(3), NULL))
     ON DUPLICATE KEY UPDATE path = VALUES(path), sha256 = VALUES(sha256), tx_count = VALUES(tx_count),
       ctrl_sum_minor = VALUES(ctrl_sum_minor),
       released_at = IF(status = 'RELEASED', released_at, VALUES(released_at)),
       status = IF(status = 'RELEASED', status, VALUES(status))`,
    [
      where.region,
      where.cycle_id,
      where.currency,
      where.part,
      g.relativePath,
      g.sha256,
      g.nbOfTxs,
      g.ctrlSumMinor.toString(),
      status,
      status,
    ],
  );
  const row = (await db('payout_file').first('status').where(where)) as {
    status: 'WRITTEN' | 'RELEASED';
  };
  return row.status;
}

async function sha256OfFile(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
