import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import { z } from 'zod';

/**
 * `<file>.manifest.json`, written next to each payout file: what the file claims, for whoever
 * receives it (finance, the bank's upload portal) and for `sts payout-file verify`.
 *
 * Deterministic like the file itself: keys in a fixed order, two-space indentation, LF and a
 * trailing newline, and no wall-clock time, so regenerating a cycle gives identical manifests.
 * Amounts and ids are decimal strings (docs/DESIGN.md, lesson 8).
 *
 * payoutIds.sha256 is the SHA-256 of the payout ids as decimal text, each followed by "\n", in
 * file order: two files paying the same amounts to different payouts differ here even where the
 * totals agree.
 */
export const MANIFEST_FORMAT = 'sts.payout-file-manifest.v1';

export interface PayoutFileManifest {
  format: typeof MANIFEST_FORMAT;
  messageFormat: 'pain.001.001.09';
  region: string;
  currency: string;
  cycleId: string;
  fileName: string;
  nbOfTxs: number;
  /** CtrlSum exactly as it appears in the file (major units). */
  ctrlSum: string;
  ctrlSumMinor: string;
  /** SHA-256 of the file's bytes, lowercase hex. */
  sha256: string;
  payoutIds: { first: string; last: string; sha256: string };
}

export const manifestPathFor = (xmlPath: string) => `${xmlPath}.manifest.json`;

/** Keys are written in this order, whatever order the object was built in. */
export function renderManifest(m: PayoutFileManifest): string {
  const ordered = {
    format: m.format,
    messageFormat: m.messageFormat,
    region: m.region,
    currency: m.currency,
    cycleId: m.cycleId,
    fileName: m.fileName,
    nbOfTxs: m.nbOfTxs,
    ctrlSum: m.ctrlSum,
    ctrlSumMinor: m.ctrlSumMinor,
    sha256: m.sha256,
    payoutIds: { first: m.payoutIds.first, last: m.payoutIds.last, sha256: m.payoutIds.sha256 },
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

const decimal = z.string().regex(/^\d+$/, 'must be a decimal string');
const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');

const manifestSchema = z.strictObject({
  format: z.literal(MANIFEST_FORMAT),
  messageFormat: z.literal('pain.001.001.09'),
  region: z.string().regex(/^[A-Z]{2}$/),
  currency: z.string().regex(/^[A-Z]{3}$/),
  cycleId: decimal,
  fileName: z.string().min(1),
  nbOfTxs: z.number().int().nonnegative(),
  ctrlSum: z.string().regex(/^\d+(\.\d+)?$/, 'must be a plain decimal'),
  ctrlSumMinor: decimal,
  sha256: hex64,
  payoutIds: z.strictObject({ first: decimal, last: decimal, sha256: hex64 }),
});

export type ManifestRead =
  { ok: true; manifest: PayoutFileManifest } | { ok: false; problem: string };

/** Reads and checks a manifest's shape; a missing or malformed one is a finding, not an exception. */
export async function readManifest(filePath: string): Promise<ManifestRead> {
  let text: string;
  try {
    text = await fs.readFile(filePath, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      ok: false,
      problem:
        code === 'ENOENT'
          ? `manifest ${filePath} is missing`
          : `cannot read manifest ${filePath}: ${(err as Error).message}`,
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, problem: `manifest is not JSON: ${(err as Error).message}` };
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      problem: `manifest field ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
    };
  }
  return { ok: true, manifest: parsed.data };
}

/** Incremental checksum and range of the payout ids, in the order they were added. */
export class PayoutIdChecksum {
  private readonly hash = crypto.createHash('sha256');
  first: bigint | undefined;
  last: bigint | undefined;
  count = 0;

  add(id: bigint): void {
    this.hash.update(`${id}\n`);
    this.first ??= id;
    this.last = id;
    this.count++;
  }

  /** Finishes the hash; call once. */
  summary(): { first: string; last: string; sha256: string } {
    return {
      first: (this.first ?? 0n).toString(),
      last: (this.last ?? 0n).toString(),
      sha256: this.hash.digest('hex'),
    };
  }
}
