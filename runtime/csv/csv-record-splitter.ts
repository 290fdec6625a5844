import { Transform, type TransformCallback } from 'node:stream';

/**
 * Splits a CSV byte stream into records, keeping each record's original text, with a blast radius
 * of one record: a bad byte sequence or an oversized record becomes a problem record for that row
 * alone, and the rest of the file still loads.
 *
 * Why not csv-parse for this step: its error recovery (skip_records_with_error) merges neighbouring
 * records after a bad quote, it decodes UTF-8 with silent replacement, and it buffers a record of
 * any size. Record boundaries only need RFC 4180's quote rule, so they are found here; the fields
 * of each record are parsed by csv-fields.ts (csv-parse for any record with a quote).
 *
 * Input: Buffers. Output (object mode): SplitRecord, in file order; record 0 is the header.
 * Blank lines are skipped and not numbered. A leading UTF-8 BOM is dropped; CRLF and LF both end a
 * record outside quotes, and line breaks inside quotes belong to the field. A CR not followed by LF
 * is a character of its field, as csv-parse reads it with record_delimiter '\n'.
 *
 * Quotes follow RFC 4180: a double quote opens a quoted field only as the field's first character
 * (at the start of the record or right after a comma), and inside one `""` is a quote. A quote
 * anywhere else (`5" screen`) opens nothing: it stays in the record's text, the record still ends
 * at its line end, and csv-fields.ts refuses that one record (the ingestion rejects it as CSV_MALFORMED) (csv-parse refuses a
 * quote inside an unquoted field). Before, any quote toggled the state, so one stray quote turned
 * the line ends after it into field text and swallowed the following rows up to the next quote.
 */
export type SplitRecord =
  | { index: number; raw: string; bytes: number }
  | { index: number; problem: RecordProblem; sample: string; bytes: number };

/** Why a record could not be read as CSV text; the upload chunk contract carries these codes. */
export const RECORD_PROBLEMS = ['INVALID_ENCODING', 'ROW_TOO_LARGE', 'UNCLOSED_QUOTE'] as const;
export type RecordProblem = (typeof RECORD_PROBLEMS)[number];

export const SPLITTER_DEFAULTS = {
  /** A record longer than this is rejected whole; only its first bytes are kept, as a sample. */
  maxRecordBytes: 64 * 1024,
  /** Bytes of an oversized or undecodable record kept for the reject report. */
  sampleBytes: 1024,
};

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

export class CsvRecordSplitter extends Transform {
  private parts: Buffer[] = [];
  private size = 0;
  private inQuotes = false;
  /**
   * Carried from one buffer to the next: the last byte seen (a quote opens a field only after a
   * comma), and whether that byte closed a quoted field (a quote right after it is the second
   * half of a `""` escape and reopens it).
   */
  private lastByte = -1;
  private closedAtEnd = false;
  private started = false;
  private head = Buffer.alloc(0);
  private index = 0;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  private readonly lenient = new TextDecoder('utf-8', { ignoreBOM: true });

  constructor(private readonly opts = SPLITTER_DEFAULTS) {
    super({ readableObjectMode: true });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let buf = chunk;
    if (!this.started) {
      // The BOM can straddle the first reads (an HTTP body may arrive a byte at a time): hold
      // bytes back until three are in, or until they can no longer be a BOM.
      buf = this.head.length > 0 ? Buffer.concat([this.head, buf]) : buf;
      if (buf.length < 3 && BOM.subarray(0, buf.length).equals(buf)) {
        this.head = Buffer.from(buf);
        return done();
      }
      this.started = true;
      this.head = Buffer.alloc(0);
      if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) buf = buf.subarray(3);
    }
    // Record ends and quotes are found with indexOf (native) rather than a byte loop in JS, and a
    // record that lies wholly inside this buffer is decoded in place, without a copy: intake's
    // splitting was a CPU cost on par with ingestion's.
    let start = 0;
    let i = 0;
    // Where the quote that last closed a quoted field ends (-1: none in reach); 0 when the
    // previous buffer ended on one.
    let closedAt = this.closedAtEnd ? 0 : -1;
    let nextQuote = buf.indexOf(QUOTE);
    let lf = -2;
    while (i < buf.length) {
      if (nextQuote !== -1 && nextQuote < i) nextQuote = buf.indexOf(QUOTE, i);
      if (this.inQuotes) {
        if (nextQuote === -1) break;
        this.inQuotes = false;
        i = nextQuote + 1;
        closedAt = i;
        continue;
      }
      if (lf !== -1 && lf < i) lf = buf.indexOf(LF, i);
      if (nextQuote !== -1 && (lf === -1 || nextQuote < lf)) {
        const q = nextQuote;
        const before = q > 0 ? buf[q - 1]! : this.lastByte;
        // A field's first character: the record's first byte, after a comma, or the second quote
        // of a "" escape. Any other quote is literal text of an unquoted field.
        const opens = (q === start && this.size === 0) || before === COMMA || q === closedAt;
        if (opens) this.inQuotes = true;
        i = q + 1;
        continue;
      }
      if (lf === -1) break;
      if (this.size === 0) this.emitRecord(buf.subarray(start, lf), lf - start, false);
      else {
        this.append(buf.subarray(start, lf));
        this.finishRecord(false);
      }
      start = lf + 1;
      i = start;
    }
    if (buf.length > 0) {
      this.lastByte = buf[buf.length - 1]!;
      this.closedAtEnd = closedAt === buf.length;
    }
    this.append(buf.subarray(start));
    done();
  }

  override _flush(done: TransformCallback): void {
    // A file shorter than a BOM that starts like one: its bytes are a (problem) record of their own.
    if (!this.started && this.head.length > 0) {
      this.started = true;
      this.append(this.head);
    }
    if (this.size > 0) this.finishRecord(this.inQuotes);
    done();
  }

  /** Keeps at most maxRecordBytes + 1 of a record: enough to know it is too large. */
  private append(piece: Buffer): void {
    if (piece.length === 0) return;
    const room = this.opts.maxRecordBytes + 1 - this.kept();
    if (room > 0) this.parts.push(Buffer.from(piece.subarray(0, room)));
    this.size += piece.length;
  }

  private kept(): number {
    let n = 0;
    for (const p of this.parts) n += p.length;
    return n;
  }

  private finishRecord(unclosed: boolean): void {
    const bytes = Buffer.concat(this.parts);
    const total = this.size;
    this.parts = [];
    this.size = 0;
    this.inQuotes = false;
    this.closedAtEnd = false;
    this.emitRecord(bytes, total, unclosed);
  }

  /** `bytes` holds at most maxRecordBytes + 1 of the record's `total` bytes. */
  private emitRecord(kept: Buffer, total: number, unclosed: boolean): void {
    let bytes = total > this.opts.maxRecordBytes + 1 ? kept.subarray(0, this.opts.maxRecordBytes + 1) : kept;
    if (total <= this.opts.maxRecordBytes && bytes.length > 0 && bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, bytes.length - 1);
    if (total === 0 || (bytes.length === 0 && total <= 1)) return;
    const index = this.index++;
    if (total > this.opts.maxRecordBytes) return void this.push({ index, problem: 'ROW_TOO_LARGE', sample: this.sample(bytes), bytes: total });
    if (unclosed) return void this.push({ index, problem: 'UNCLOSED_QUOTE', sample: this.sample(bytes), bytes: total });
    let raw: string;
    try {
      raw = this.decoder.decode(bytes);
    } catch {
      return void this.push({ index, problem: 'INVALID_ENCODING', sample: this.sample(bytes), bytes: total });
    }
    this.push({ index, raw, bytes: total });
  }

  // A method, not a closure made per record: the closure cost about 0.4 µs a record to create.
  private sample(bytes: Buffer): string {
    return this.lenient.decode(bytes.subarray(0, this.opts.sampleBytes));
  }
}
