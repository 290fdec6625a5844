import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import { PayoutFileUnreadableError } from './payout-file-errors';
import {
  parseSkeleton,
  parseTransactions,
  type ScannedHeader,
  type ScannedTransaction,
} from './pain001-pieces';

export type { ScannedHeader, ScannedTransaction } from './pain001-pieces';

/**
 * Reads a pain.001 file back with fast-xml-parser in bounded memory, so verifying a million-payout
 * file needs no more than a page of it at a time.
 *
 * The file is streamed once. Each <CdtTrfTxInf> element is cut out and parsed in batches; what is
 * left, the "skeleton" (header, PmtInf, closing tags), is parsed as a document of its own with each
 * contiguous run of transactions replaced by one empty <CdtTrfTxInf/>. A file we wrote has exactly
 * one run, inside its one PmtInf; a transaction anywhere else shows up as a second placeholder.
 * Every piece goes through the parser's validator, so malformed XML is found, never skipped.
 *
 * Our files never contain comments, CDATA, a DOCTYPE or a second processing instruction, so those
 * are refused outright: they are the ways text that looks like a transaction could hide from (or
 * be invented for) the cut.
 *
 * Returns findings; throws only STS_PAYOUT_FILE_UNREADABLE, when the file cannot be read at all.
 */

export const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

export interface ScanOutcome {
  sha256: string;
  bytes: number;
  transactionCount: number;
  /** Encoding, declaration, newlines, forbidden constructs. */
  formatProblems: string[];
  /** Well-formedness and the shape of the document. */
  structureProblems: string[];
  header?: ScannedHeader;
}

const OPEN = '<CdtTrfTxInf>';
const CLOSE = '</CdtTrfTxInf>';
const PLACEHOLDER = '<CdtTrfTxInf/>';
/** Text outside the transactions; a file of ours has about 1.5 kB of it. */
const MAX_SKELETON = 1 << 20;
/** One transaction of ours is about 400 bytes. */
const MAX_ELEMENT = 64 << 10;

export interface ScanOptions {
  /** Transactions per parse and onBatch call (default 1000, ~350 kB of XML). fast-xml-parser's
   * tree is many times the size of its text: 10k per parse was no faster and quadrupled the peak
   * heap. */
  batchSize?: number;
  /** Bytes per read (default 1 MiB); tests use tiny reads to cut elements at every offset. */
  chunkSize?: number;
}

export async function scanPain001(
  filePath: string,
  onBatch: (txs: ScannedTransaction[]) => Promise<void>,
  opts: ScanOptions = {},
): Promise<ScanOutcome> {
  const batchSize = opts.batchSize ?? 1000;
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(filePath, 'r');
    if (!(await handle.stat()).isFile()) {
      await handle.close();
      throw new PayoutFileUnreadableError(filePath, 'not a regular file');
    }
  } catch (err) {
    if (err instanceof PayoutFileUnreadableError) throw err;
    throw new PayoutFileUnreadableError(filePath, (err as Error).message, err);
  }

  const hash = crypto.createHash('sha256');
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const format = new Set<string>();
  const structure: string[] = [];
  const skeleton: string[] = [];
  let skeletonLength = 0;
  let batch: string[] = [];
  let scanned = 0;
  let runs = 0;
  let inRun = false;
  let pending = '';
  let seen = 0;
  let head = '';
  let last = '';
  let bytes = 0;

  const emitSkeleton = (text: string) => {
    if (text === '') return;
    const blank = text.trim() === '';
    if (blank && inRun) return; // whitespace between two transactions
    if (!blank) inRun = false;
    skeletonLength += text.length;
    if (skeletonLength > MAX_SKELETON) {
      if (skeletonLength - text.length <= MAX_SKELETON)
        structure.push('more than 1 MB of content outside the transactions');
      return;
    }
    skeleton.push(text);
  };

  const flush = async () => {
    if (batch.length === 0) return;
    const elements = batch;
    batch = [];
    const first = scanned;
    scanned += elements.length;
    await onBatch(parseTransactions(elements, first, structure));
  };

  /** Cuts every complete transaction out of `pending`; the rest goes to the skeleton. */
  const drain = async (final: boolean) => {
    let pos = 0;
    for (;;) {
      const i = pending.indexOf('<CdtTrfTxInf', pos);
      if (i < 0 || (!final && pending.length < i + OPEN.length)) {
        // Keep a possibly cut-off '<CdtTrfTxInf' for the next chunk.
        const cut =
          i >= 0 ? i : final ? pending.length : Math.max(pos, pending.length - OPEN.length + 1);
        emitSkeleton(pending.slice(pos, cut));
        pending = pending.slice(cut);
        return;
      }
      emitSkeleton(pending.slice(pos, i));
      if (!pending.startsWith(OPEN, i)) {
        structure.push(
          `unexpected tag ${pending.slice(i, i + 20)}… (transactions open with a bare ${OPEN})`,
        );
        emitSkeleton('<CdtTrfTxInf');
        pos = i + '<CdtTrfTxInf'.length;
        continue;
      }
      const j = pending.indexOf(CLOSE, i);
      if (j < 0) {
        if (final || pending.length - i > MAX_ELEMENT) {
          structure.push(`transaction ${scanned + batch.length + 1} is not closed by ${CLOSE}`);
          emitSkeleton(pending.slice(i));
          pending = '';
        } else pending = pending.slice(i);
        return;
      }
      const element = pending.slice(i, j + CLOSE.length);
      if (element.indexOf('<CdtTrfTxInf', OPEN.length) >= 0)
        structure.push(`transaction ${scanned + batch.length + 1} contains another ${OPEN}`);
      if (!inRun) {
        runs++;
        emitSkeleton(PLACEHOLDER);
        inRun = true;
      }
      batch.push(element);
      if (batch.length >= batchSize) await flush();
      pos = j + CLOSE.length;
    }
  };

  const checkText = (text: string, offset: number) => {
    const window = last + text;
    if (text.includes('\r')) format.add('CR characters: lines must end with LF only');
    if (window.includes('<!')) format.add('comments, CDATA or a DOCTYPE are not allowed');
    // `window` starts at character offset - last.length; only the declaration may sit at 0.
    let pi = window.indexOf('<?');
    if (pi >= 0 && offset - last.length + pi === 0) pi = window.indexOf('<?', pi + 1);
    if (pi >= 0) format.add('a processing instruction after the XML declaration');
  };

  const chunks = (
    handle.createReadStream({ highWaterMark: opts.chunkSize ?? 1 << 20 }) as AsyncIterable<Buffer>
  )[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<Buffer>;
      try {
        next = await chunks.next();
      } catch (err) {
        // Only reading is "unreadable"; a database error from onBatch passes through as it is.
        throw new PayoutFileUnreadableError(filePath, (err as Error).message, err);
      }
      if (next.done) break;
      const chunk = next.value;
      hash.update(chunk);
      bytes += chunk.length;
      if (format.has('not valid UTF-8')) continue;
      let text: string;
      try {
        text = decoder.decode(chunk, { stream: true });
      } catch {
        format.add('not valid UTF-8');
        continue;
      }
      if (head.length < XML_DECLARATION.length)
        head += text.slice(0, XML_DECLARATION.length - head.length);
      checkText(text, seen);
      seen += text.length;
      last = text.slice(-1) || last;
      pending += text;
      await drain(false);
    }
  } finally {
    await chunks.return?.().catch(() => undefined);
    await handle.close().catch(() => undefined);
  }

  try {
    pending += decoder.decode();
  } catch {
    format.add('not valid UTF-8');
  }
  if (!format.has('not valid UTF-8')) {
    await drain(true);
    await flush();
  }
  if (head !== XML_DECLARATION)
    format.add(`must start with ${JSON.stringify(XML_DECLARATION)} (UTF-8, no BOM)`);
  if (last !== '\n') format.add('must end with a newline');

  let header: ScannedHeader | undefined;
  if (format.has('not valid UTF-8')) structure.push('not parsed: the file is not valid UTF-8');
  else if (skeletonLength <= MAX_SKELETON)
    header = parseSkeleton(skeleton.join(''), runs, structure);

  return {
    sha256: hash.digest('hex'),
    bytes,
    transactionCount: scanned,
    formatProblems: [...format],
    structureProblems: structure,
    header,
  };
}
