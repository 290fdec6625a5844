import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  manifestPathFor,
  PayoutIdChecksum,
  readManifest,
  renderManifest,
} from '../../settlement/payout-file/manifest';
import type { TestResources } from '../helpers/resources';
import { tempDataDir } from './seed-payouts';

/**
 * A copy of a written payout file, edited by `edit`, with a manifest that agrees with the new
 * bytes: sha256 and the payout-id range and checksum are recomputed from the copy, every other
 * field is the original's. A test can then ask about one property of the file (order, shape,
 * values) without the sha256 and manifest checks failing for the edit itself.
 *
 * The copy keeps the file's name, so verify derives the same region, cycle and currency; it lives
 * in a data dir of the test's own.
 */
export async function resealedCopy(
  r: TestResources,
  file: string,
  edit: (xml: string) => string,
): Promise<string> {
  const xml = await fs.readFile(file, 'utf8');
  const edited = edit(xml);
  if (edited === xml) throw new Error('the edit did not change the file');
  const read = await readManifest(manifestPathFor(file));
  if (!read.ok) throw new Error(read.problem);
  const ids = new PayoutIdChecksum();
  for (const m of edited.matchAll(/<EndToEndId>(\d+)<\/EndToEndId>/g)) ids.add(BigInt(m[1]!));
  const copy = path.join(await tempDataDir(r), path.basename(file));
  await fs.writeFile(copy, edited);
  await fs.writeFile(
    manifestPathFor(copy),
    renderManifest({
      ...read.manifest,
      sha256: crypto.createHash('sha256').update(edited).digest('hex'),
      payoutIds: ids.summary(),
    }),
  );
  return copy;
}

/** Every <CdtTrfTxInf> of a file we wrote, with its indentation and newline, in file order. */
export function transactionsOf(xml: string): string[] {
  return [...xml.matchAll(/ {6}<CdtTrfTxInf>\n[\s\S]*?<\/CdtTrfTxInf>\n/g)].map((m) => m[0]);
}

/** The transaction paying payout `id`, as transactionsOf cuts it. */
export function transactionFor(xml: string, id: bigint): string {
  const tx = transactionsOf(xml).find((t) => t.includes(`<EndToEndId>${id}</EndToEndId>`));
  if (!tx) throw new Error(`no transaction for payout ${id}`);
  return tx;
}
