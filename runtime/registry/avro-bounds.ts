import { isUtf8 } from 'node:buffer';
import avro from 'avsc';
import { type ErrorContext } from '../errors';
import { DecodeError } from './registry-errors';

/**
 * A bounds walk of an Avro body over its WRITER schema, run before avsc decodes it.
 *
 * avsc trusts what the bytes claim: an array block count becomes `new Array(n)` and n item reads,
 * reads past the end return undefined or 0 instead of failing, and only after the whole value is
 * built does it notice the buffer was short. A few bytes claiming 2^31 records, or 2^60 nulls,
 * therefore allocate until the process dies, and the consumer restarts onto the same offset
 * forever. Varints longer than an int64 are silently wrapped, and a string of invalid UTF-8
 * decodes to U+FFFD, so two different event ids could decode to the same one.
 *
 * The walk reads every length-bearing value and refuses, before any allocation:
 *  - an array/map block count whose items cannot fit in the bytes left (each item takes at least
 *    its type's minimum encoded size); for item types that can encode in zero bytes (null, a
 *    record of nulls, fixed(0)) a fixed total per record, `maxZeroSizeItems`, instead;
 *  - a block's byte size (negative count form) past the end or not matching its items;
 *  - a string/bytes length that is negative or past the end, a fixed size past the end, a string
 *    that is not valid UTF-8;
 *  - a union branch or enum index out of range, a boolean byte other than 0 or 1;
 *  - a varint longer than 10 bytes or outside int64, an int outside int32 (never wrapped);
 *  - nesting deeper than `maxDepth` (a recursive writer schema), and trailing bytes.
 * The walk's own work is linear in the body (plus the zero-size cap), so refusing is cheap.
 *
 * Walkers are compiled once per avsc Type (a tree of closures) and cached; a record's path is
 * only assembled when a refusal unwinds, so the accepted path pays nothing for it.
 */

export const AVRO_BOUNDS_DEFAULTS = {
  /** Items of zero-size types (null, empty records) one record may hold, across all its arrays. */
  maxZeroSizeItems: 10_000,
  /** Records, arrays and maps nested in one another. Our contracts nest three deep. */
  maxDepth: 32,
};

export interface AvroBoundsLimits {
  maxZeroSizeItems: number;
  maxDepth: number;
}

interface State {
  b: Buffer;
  /** Read position. */
  p: number;
  /** End of the body. */
  n: number;
  /** Zero-size items still allowed. */
  z: number;
  /** Nesting levels still allowed. */
  d: number;
}

type Walk = (s: State) => void;

/** A refusal on its way up; each container it passes through prepends its path segment. */
class Refusal {
  readonly path: string[] = [];
  constructor(readonly reason: string) {}
}

const walkers = new WeakMap<avro.Type, Walk>();
const minSizes = new WeakMap<avro.Type, number>();

/**
 * Walks `body` over `writer`; throws DecodeError naming the field path and what was claimed
 * against what is left. Returns normally when avsc can decode the body without surprises.
 */
export function checkAvroBounds(
  writer: avro.Type,
  body: Buffer,
  context: ErrorContext = {},
  limits: AvroBoundsLimits = AVRO_BOUNDS_DEFAULTS,
  /** The writer's schema id, added to the error's context and message (only on a refusal). */
  schemaId?: number,
): void {
  // One state for every walk: walks are synchronous and never nested, and an allocation per
  // record is a measurable share of a walk this short.
  const s = shared;
  s.b = body;
  s.p = 0;
  s.n = body.length;
  s.z = limits.maxZeroSizeItems;
  s.d = limits.maxDepth;
  try {
    walkerFor(writer)(s);
    if (s.p !== s.n)
      throw new Refusal(
        `${s.n - s.p} trailing byte(s) after the record (it ends at byte ${s.p} of ${s.n})`,
      );
  } catch (err) {
    s.b = EMPTY;
    if (err instanceof Refusal) {
      const where = err.path.length === 0 ? '(root)' : err.path.join('').replace(/^\./, '');
      // Worded like avsc's own refusals through the codec ("does not match schema N"), then where.
      const schema = schemaId === undefined ? '' : `Avro body does not match schema ${schemaId}: `;
      throw new DecodeError(
        `${schema}${where}: ${err.reason}`,
        schemaId === undefined ? context : { ...context, schemaId },
      );
    }
    // A RangeError from a walker would be a bug here, never the input's fault to retry; but it
    // must still be a decode failure, not an unclassified crash of the consumer.
    throw new DecodeError(
      `bounds walk failed: ${(err as Error).message}`,
      schemaId === undefined ? context : { ...context, schemaId },
      err,
    );
  }
  // Drop the body so the shared state does not keep the last record alive.
  s.b = EMPTY;
}

const EMPTY = Buffer.alloc(0);
const shared: State = { b: EMPTY, p: 0, n: 0, z: 0, d: 0 };

function walkerFor(type: avro.Type): Walk {
  return walkers.get(type) ?? compile(type);
}

/** Smallest number of bytes a value of `type` can encode in (0 for null and records of nulls). */
export function minEncodedSize(type: avro.Type): number {
  const known = minSizes.get(type);
  if (known !== undefined) return known;
  // In progress (a recursive record): count 0, a safe under-estimate (the zero-size cap applies).
  minSizes.set(type, 0);
  let size: number;
  const t = type as AnyType;
  switch (kindOf(type)) {
    case 'null':
      size = 0;
      break;
    case 'float':
      size = 4;
      break;
    case 'double':
      size = 8;
      break;
    case 'fixed':
      size = t.size!;
      break;
    case 'record':
      size = t.fields!.reduce((sum, f) => sum + minEncodedSize(f.type), 0);
      break;
    case 'logical':
      size = minEncodedSize(t.underlyingType!);
      break;
    default:
      // boolean, int, long, string, bytes, enum, union, array, map: at least one byte.
      size = 1;
  }
  minSizes.set(type, size);
  return size;
}

interface AnyType {
  typeName: string;
  fields?: Array<{ name: string; type: avro.Type }>;
  itemsType?: avro.Type;
  valuesType?: avro.Type;
  types?: avro.Type[];
  symbols?: string[];
  size?: number;
  underlyingType?: avro.Type;
  branchName?: string;
  name?: string;
}

function kindOf(type: avro.Type): string {
  const name = (type as AnyType).typeName;
  if (name.startsWith('logical:')) return 'logical';
  if (name.startsWith('union:')) return 'union';
  // The bigint long of avro-types.ts (LongType.__with) reads and writes the same varint.
  if (name === 'abstract:long') return 'long';
  return name;
}

function compile(type: avro.Type): Walk {
  const t = type as AnyType;
  let walk: Walk;
  switch (kindOf(type)) {
    case 'null':
      walk = walkNull;
      break;
    case 'boolean':
      walk = walkBoolean;
      break;
    case 'int':
      walk = walkInt;
      break;
    case 'long':
      walk = walkLong;
      break;
    case 'float':
      walk = (s) => fixedBytes(s, 4, 'float');
      break;
    case 'double':
      walk = (s) => fixedBytes(s, 8, 'double');
      break;
    case 'string':
      walk = walkString;
      break;
    case 'bytes':
      walk = walkBytes;
      break;
    case 'fixed': {
      const size = t.size!;
      const what = `fixed ${t.name ?? ''} of ${size} bytes`.replace('  ', ' ');
      walk = (s) => fixedBytes(s, size, what);
      break;
    }
    case 'enum':
      walk = enumWalker(t.symbols!, t.name ?? 'enum');
      break;
    case 'logical': {
      // timestamp-millis and friends: the bytes are the underlying type's.
      const inner = walkerFor(t.underlyingType!);
      walk = inner;
      break;
    }
    case 'union':
      walk = unionWalker(t.types!);
      break;
    case 'array':
      walk = arrayWalker(t.itemsType!);
      break;
    case 'map':
      walk = mapWalker(t.valuesType!);
      break;
    case 'record':
    case 'error':
      walk = recordWalker(type, t.fields!);
      break;
    default:
      throw new Error(`no bounds walker for Avro type ${t.typeName}`);
  }
  walkers.set(type, walk);
  return walk;
}

// --- primitives ------------------------------------------------------------------------------

function walkNull(): void {}

function walkBoolean(s: State): void {
  if (s.p >= s.n) throw truncated(s, 'a boolean');
  const v = s.b[s.p]!;
  if (v > 1) throw new Refusal(`boolean byte is ${v}, not 0 or 1 (at byte ${s.p})`);
  s.p++;
}

/** An int: at most 5 bytes, within int32 (the 5th byte carries only the top 4 bits). */
function walkInt(s: State): void {
  walkVarint(s, 5, 0x0f, 'int', 'int32');
}

/** A long: at most 10 bytes, within int64 (the 10th byte carries only bit 63). */
function walkLong(s: State): void {
  walkVarint(s, 10, 0x01, 'long', 'int64');
}

/** A zig-zag varint of at most `bytes` bytes whose last byte is at most `lastMax`; never wrapped. */
function walkVarint(s: State, bytes: number, lastMax: number, kind: 'int' | 'long', range: string): void {
  const b = s.b;
  const start = s.p;
  for (let i = 0; i < bytes; i++) {
    if (s.p >= s.n) throw truncated(s, kind === 'int' ? 'an int' : 'a long', start);
    const v = b[s.p++]!;
    if (v < 0x80) {
      if (i === bytes - 1 && v > lastMax)
        throw new Refusal(`${kind} at byte ${start} is ${exactVarint(b, start, s.n)}, outside ${range}`);
      return;
    }
  }
  throw new Refusal(`${kind} at byte ${start} is a varint longer than ${bytes} bytes`);
}

/**
 * A long read as a number, for counts, lengths and indexes: exact below 2^53, and anything
 * larger is refused by the caller's bound anyway (no body is 2^53 bytes long).
 */
function readLong(s: State, what: string): number {
  const b = s.b;
  const start = s.p;
  if (start >= s.n) throw truncated(s, what, start);
  let v = b[s.p++]!;
  if (v < 0x80) return (v >>> 1) ^ -(v & 1);
  let u = v & 0x7f;
  let mul = 128;
  for (let i = 1; i < 10; i++) {
    if (s.p >= s.n) throw truncated(s, what, start);
    v = b[s.p++]!;
    u += (v & 0x7f) * mul;
    if (v < 0x80) {
      if (i === 9 && v > 0x01)
        throw new Refusal(
          `${what} at byte ${start} is ${exactVarint(b, start, s.n)}, outside int64`,
        );
      return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
    }
    mul *= 128;
  }
  throw new Refusal(`${what} at byte ${start} is a varint longer than 10 bytes`);
}

function fixedBytes(s: State, size: number, what: string): void {
  const left = s.n - s.p;
  if (size > left) throw new Refusal(`${what} needs ${size} bytes, ${left} left`);
  s.p += size;
}

function readLength(s: State, what: 'string' | 'bytes'): number {
  const start = s.p;
  // Constant labels: a template string here would allocate on every field read.
  const len = readLong(s, what === 'string' ? 'string length' : 'bytes length');
  const left = s.n - s.p;
  if (len < 0)
    throw new Refusal(
      `${what} length at byte ${start} is negative (${exactVarint(s.b, start, s.n)})`,
    );
  if (len > left)
    throw new Refusal(
      `${what} at byte ${start} claims ${exactVarint(s.b, start, s.n)} bytes, ${left} left`,
    );
  return len;
}

function walkBytes(s: State): void {
  // Not `s.p += readLength(...)`: that reads s.p before the length's own bytes are consumed.
  const len = readLength(s, 'bytes');
  s.p += len;
}

function walkString(s: State): void {
  const len = readLength(s, 'string');
  const from = s.p;
  s.p = from + len;
  // ASCII, the common case, needs no decoder; a string with a high byte is checked natively.
  if (!isAscii(s, from, from + len) && !isUtf8(s.b.subarray(from, from + len)))
    throw new Refusal(`string at byte ${from} (${len} bytes) is not valid UTF-8`);
}

/** No byte of [from, to) has its high bit set. (A word-at-a-time view measured no faster.) */
function isAscii(s: State, from: number, to: number): boolean {
  const b = s.b;
  for (let i = from; i < to; i++) if (b[i]! >= 0x80) return false;
  return true;
}

function enumWalker(symbols: string[], name: string): Walk {
  const count = symbols.length;
  return (s) => {
    const start = s.p;
    const i = readLong(s, 'enum index');
    if (i < 0 || i >= count)
      throw new Refusal(
        `enum ${name} index ${exactVarint(s.b, start, s.n)} at byte ${start} is not one of its ${count} symbols`,
      );
  };
}

// --- containers ------------------------------------------------------------------------------

function unionWalker(types: avro.Type[]): Walk {
  let branches: Walk[] | undefined;
  const names = types.map((b) => (b as AnyType).branchName ?? (b as AnyType).typeName);
  const count = types.length;
  return (s) => {
    branches ??= types.map(walkerFor);
    const start = s.p;
    const i = readLong(s, 'union branch');
    if (i < 0 || i >= count)
      throw new Refusal(
        `union branch ${exactVarint(s.b, start, s.n)} at byte ${start} is not one of its ${count} branches`,
      );
    try {
      branches[i]!(s);
    } catch (err) {
      if (err instanceof Refusal) err.path.unshift(`<${names[i]}>`);
      throw err;
    }
  };
}

// Field kinds a record walks inline: a call through `walks[i]` is megamorphic (every field a
// different closure) and never inlined, while these direct calls are.
const K_OTHER = 0;
const K_NULL = 1;
const K_LONG = 2;
const K_STRING = 3;
const K_INT = 4;

function fieldKind(type: avro.Type): number {
  switch (kindOf(type)) {
    case 'null':
      return K_NULL;
    case 'long':
      return K_LONG;
    case 'string':
      return K_STRING;
    case 'int':
      return K_INT;
    case 'logical':
      return fieldKind((type as AnyType).underlyingType!);
    default:
      return K_OTHER;
  }
}

function recordWalker(type: avro.Type, fields: Array<{ name: string; type: avro.Type }>): Walk {
  // Filled on first use: a recursive record's fields refer back to this walker.
  let walks: Walk[] | undefined;
  const kinds = Uint8Array.from(fields.map((f) => fieldKind(f.type)));
  const count = fields.length;
  const names = fields.map((f) => `.${f.name}`);
  const name = (type as AnyType).name ?? 'record';
  return (s) => {
    walks ??= fields.map((f) => walkerFor(f.type));
    if (--s.d < 0) throw new Refusal(`record ${name} nested deeper than the limit`);
    let i = 0;
    try {
      for (; i < count; i++) {
        switch (kinds[i]) {
          case K_LONG:
            walkLong(s);
            break;
          case K_STRING:
            walkString(s);
            break;
          case K_INT:
            walkInt(s);
            break;
          case K_NULL:
            break;
          default:
            walks[i]!(s);
        }
      }
    } catch (err) {
      if (err instanceof Refusal) err.path.unshift(names[i]!);
      throw err;
    }
    s.d++;
  };
}

function arrayWalker(items: avro.Type): Walk {
  let item: Walk | undefined;
  let min = -1;
  return (s) => {
    if (item === undefined) {
      item = walkerFor(items);
      min = minEncodedSize(items);
    }
    if (--s.d < 0) throw new Refusal('array nested deeper than the limit');
    const at = { item: -1 };
    try {
      blocks(s, min, 'array', item, at);
    } catch (err) {
      if (err instanceof Refusal && at.item >= 0) err.path.unshift(`[${at.item}]`);
      throw err;
    }
    s.d++;
  };
}

function mapWalker(values: avro.Type): Walk {
  let value: Walk | undefined;
  let min = -1;
  return (s) => {
    if (value === undefined) {
      value = walkerFor(values);
      // A key is a string: at least its length byte.
      min = 1 + minEncodedSize(values);
    }
    if (--s.d < 0) throw new Refusal('map nested deeper than the limit');
    const at = { item: -1 };
    const v = value;
    try {
      blocks(
        s,
        min,
        'map',
        (st) => {
          walkString(st);
          v(st);
        },
        at,
      );
    } catch (err) {
      if (err instanceof Refusal && at.item >= 0) err.path.unshift(`{entry ${at.item}}`);
      throw err;
    }
    s.d++;
  };
}

/** The block sequence of an array or map: count (negative: then a byte size), items, ..., 0. */
function blocks(
  s: State,
  min: number,
  what: 'array' | 'map',
  item: Walk,
  at: { item: number },
): void {
  let done = 0;
  for (;;) {
    const start = s.p;
    let count = readLong(s, what === 'array' ? 'array block count' : 'map block count');
    if (count === 0) return;
    let blockEnd = -1;
    if (count < 0) {
      count = -count;
      const sizeAt = s.p;
      const size = readLong(s, what === 'array' ? 'array block size' : 'map block size');
      const left = s.n - s.p;
      if (size < 0 || size > left)
        throw new Refusal(
          `${what} block at byte ${start} claims ${exactVarint(s.b, sizeAt, s.n)} bytes, ${left} left`,
        );
      blockEnd = s.p + size;
    }
    const left = s.n - s.p;
    if (min > 0) {
      if (count * min > left)
        throw new Refusal(
          `${what} block at byte ${start} claims ${absVarint(s.b, start, s.n)} items of at least ${min} byte(s) each, ${left} bytes left`,
        );
    } else {
      s.z -= count;
      if (s.z < 0)
        throw new Refusal(
          `${what} block at byte ${start} claims ${absVarint(s.b, start, s.n)} items of a zero-size type, more than the record's limit of zero-size items`,
        );
    }
    for (let i = 0; i < count; i++) {
      at.item = done++;
      item(s);
    }
    at.item = -1;
    if (blockEnd >= 0 && s.p !== blockEnd)
      throw new Refusal(
        `${what} block at byte ${start} claims ${blockEnd - start} bytes but its items end at byte ${s.p}`,
      );
  }
}

// --- messages --------------------------------------------------------------------------------

function truncated(s: State, what: string, start = s.p): Refusal {
  return new Refusal(`truncated: ${what} at byte ${start} runs past the end (${s.n} bytes)`);
}

/** The zigzag varint at `pos` as an exact bigint (for messages; bytes past 10 are ignored). */
function exactVarint(b: Buffer, pos: number, end: number): string {
  let u = 0n;
  let shift = 0n;
  for (let i = 0; i < 11 && pos + i < end; i++) {
    const v = b[pos + i]!;
    u |= BigInt(v & 0x7f) << shift;
    shift += 7n;
    if (v < 0x80) break;
  }
  return ((u & 1n) === 0n ? u >> 1n : -((u + 1n) >> 1n)).toString();
}

function absVarint(b: Buffer, pos: number, end: number): string {
  return exactVarint(b, pos, end).replace(/^-/, '');
}
