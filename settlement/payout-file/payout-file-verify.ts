import path from 'node:path';
import type { Knex } from 'knex';
import {
  manifestPathFor,
  PayoutIdChecksum,
  readManifest,
  type PayoutFileManifest,
} from './manifest';
import { scanPain001 } from './pain001-scanner';
import { currencyExponent, parsePayoutFileName, type PayoutFileKey } from './pain001-writer';
import { DbPayoutMatcher, type FileLine } from './verify-db-checks';
import {
  checkLine,
  countCheck,
  ctrlSumCheck,
  headerCheck,
  manifestCheck,
  parseId,
  structureCheck,
} from './verify-file-checks';
import { Findings, type VerifyCheck } from './verify-findings';

export type { VerifyCheck } from './verify-findings';

/**
 * Re-checks a payout file from its bytes, without trusting the code that wrote it
 * (docs/DESIGN.md, lesson 5): re-parse, recount, resum, and compare with the group header, the
 * manifest and its SHA-256; with a database, compare every line with its payout and look for
 * payable payouts the file left out.
 *
 * A bad file is a result ({ ok: false } with the failed checks), never an exception: the caller
 * (writePayoutFiles, `sts payout-file verify`) must be able to list everything that is wrong.
 * Throws only STS_PAYOUT_FILE_UNREADABLE, when the file cannot be read at all.
 */
export interface VerifyResult {
  ok: boolean;
  file: string;
  sha256: string;
  checks: VerifyCheck[];
}

export async function verifyPayoutFile(filePath: string, db?: Knex): Promise<VerifyResult> {
  const file = path.resolve(filePath);
  const manifestRead = await readManifest(manifestPathFor(file));
  const manifest = manifestRead.ok ? manifestRead.manifest : undefined;
  // The name says what the file covers; a renamed file falls back to what its manifest says.
  const key = parsePayoutFileName(path.basename(file)) ?? (manifest && keyOf(manifest));
  const exponent = key && currencyExponent(key.currency);

  const lineProblems = new Findings();
  const idChecksum = new PayoutIdChecksum();
  const matcher = db && key ? new DbPayoutMatcher(db, key) : undefined;
  let previous: bigint | undefined;
  let sumMinor = 0n;

  const scan = await scanPain001(file, async (txs) => {
    const lines: FileLine[] = [];
    const unreadable: bigint[] = [];
    for (const tx of txs) {
      const id = parseId(tx.endToEndId);
      if (id !== undefined) {
        if (previous !== undefined && id <= previous)
          lineProblems.add(
            `EndToEndId ${id} (transaction ${tx.index + 1}) is not above the one before it, ${previous}`,
          );
        previous = id;
        idChecksum.add(id);
      }
      const line = checkLine(tx, id, key, exponent, lineProblems);
      if (line) {
        sumMinor += line.amountMinor;
        lines.push(line);
      } else if (id !== undefined) unreadable.push(id);
    }
    await matcher?.checkBatch(lines);
    matcher?.markPresent(unreadable);
  });

  const checks: VerifyCheck[] = [
    {
      name: 'format',
      ok: scan.formatProblems.length === 0,
      detail:
        scan.formatProblems.join('; ') || 'UTF-8, XML declaration, LF newlines, trailing newline',
    },
    structureCheck(scan),
    headerCheck(scan, key),
    lineProblems.check(
      'transactions',
      `${scan.transactionCount} transactions, ids ascending, amounts positive in ${key?.currency ?? '?'}`,
    ),
    countCheck(scan),
    ctrlSumCheck(scan, exponent, sumMinor),
    manifestCheck(
      file,
      manifestRead.ok ? manifest : manifestRead.problem,
      key,
      scan,
      sumMinor,
      exponent,
      idChecksum,
    ),
    manifest
      ? {
          name: 'sha256',
          ok: manifest.sha256 === scan.sha256,
          detail:
            manifest.sha256 === scan.sha256
              ? `sha256 ${scan.sha256} matches the manifest`
              : `file sha256 ${scan.sha256}, manifest says ${manifest.sha256}`,
        }
      : { name: 'sha256', ok: false, detail: `no manifest to compare sha256 ${scan.sha256} with` },
  ];
  if (db) {
    if (matcher) {
      checks.push(
        matcher.linesCheck(),
        await matcher.completenessCheck(),
        await matcher.recordCheck(scan.sha256),
      );
    } else {
      const detail =
        'cannot tell which region, cycle and currency the file is for (neither its name nor a manifest says)';
      for (const name of ['db-payouts', 'db-complete', 'db-record'])
        checks.push({ name, ok: false, detail });
    }
  }
  return { ok: checks.every((c) => c.ok), file, sha256: scan.sha256, checks };
}

/** A renamed file: its manifest names the file as written, part included. */
const keyOf = (m: PayoutFileManifest): PayoutFileKey =>
  parsePayoutFileName(m.fileName) ?? {
    region: m.region,
    cycleId: BigInt(m.cycleId),
    currency: m.currency,
  };
