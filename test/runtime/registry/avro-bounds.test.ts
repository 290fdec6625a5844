import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type avro from 'avsc';
import { PROJECT_ROOT } from '../../../runtime/config';
import { DecodeError } from '../../../runtime/registry/registry-errors';
import { checkAvroBounds, minEncodedSize } from '../../../runtime/registry/avro-bounds';
import { AvroCodec } from '../../../runtime/registry/avro-codec';
import { parseAvro } from '../../../runtime/registry/avro-types';
import { RegistryClient } from '../../../runtime/registry/registry-client';
import { useTestResources } from '../../fixtures/resources';

/**
 * The bounds walk against real avsc types (our contracts and a few hostile writer schemas), and
 * the codec around it against the real registry: every refusal is a DecodeError naming where and
 * what was claimed against what is left, and everything valid decodes exactly.
 */
const r = useTestResources();

const contract = (file: string) =>
  parseAvro(fs.readFileSync(path.join(PROJECT_ROOT, 'schemas', file), 'utf8'));
const orderEvent = contract('order-event.avsc');
const uploadChunk = contract('upload-chunk.avsc');

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Zigzag varint of any int64, written by hand so hostile values need no encoder. */
function varint(n: bigint): Buffer {
  let u = n >= 0n ? n << 1n : ((-n - 1n) << 1n) | 1n;
  const out: number[] = [];
  do {
    let b = Number(u & 0x7fn);
    u >>= 7n;
    if (u !== 0n) b |= 0x80;
    out.push(b);
  } while (u !== 0n);
  return Buffer.from(out);
}

function refusal(type: avro.Type, body: Buffer): string {
  try {
    checkAvroBounds(type, body, { topic: 't', partition: 0, offset: '7' });
  } catch (err) {
    expect(err).toBeInstanceOf(DecodeError);
    expect((err as DecodeError).code).toBe('STS_DECODE_FAILED');
    expect((err as DecodeError).retriable).toBe(false);
    expect((err as DecodeError).context).toMatchObject({ topic: 't', partition: 0, offset: '7' });
    return (err as Error).message;
  }
  throw new Error('expected a refusal');
}

const event = (over: Record<string, unknown> = {}) => ({
  event_id: 'ord-652024209997893632-completed',
  event_type: 'ORDER_COMPLETED',
  order_id: 652024209997893632n,
  shop_user_id: 652024209997000001n,
  region: 'SG',
  currency: 'SGD',
  amount_minor: 1999n,
  category: 'electronics',
  affiliate_user_id: null,
  occurred_at: new Date('2026-11-30T10:00:00.000Z'),
  ...over,
});

describe('bounds walk over real avsc types', () => {
  test('valid records pass and decode exactly, INT64 min and max included', () => {
    for (const [a, b] of [
      [INT64_MIN, INT64_MAX],
      [INT64_MAX, INT64_MIN],
      [0n, -1n],
    ] as const) {
      const value = event({ order_id: a, amount_minor: b, affiliate_user_id: a, event_id: 'é→😀' });
      const body = orderEvent.toBuffer(value);
      checkAvroBounds(orderEvent, body);
      const back = orderEvent.fromBuffer(body) as ReturnType<typeof event>;
      expect(back.order_id).toBe(a);
      expect(back.amount_minor).toBe(b);
      expect(back.affiliate_user_id).toBe(a);
      expect(back.event_id).toBe('é→😀');
      expect(Buffer.compare(orderEvent.toBuffer(back), body)).toBe(0);
    }
    // The 10-byte varints of the extremes are exactly what the wire carries.
    expect(varint(INT64_MIN).toString('hex')).toBe('ffffffffffffffffff01');
    expect(varint(INT64_MAX).toString('hex')).toBe('feffffffffffffffff01');
  });

  test('a block count of 2^60 records, in a dozen bytes, is refused before any allocation', () => {
    const body = Buffer.concat([varint(652024209997893632n), varint(1n), varint(0n), varint(2n ** 60n)]);
    expect(refusal(uploadChunk, body)).toBe(
      'cannot decode message: rows: array block at byte 11 claims 1152921504606846976 items of at least 3 byte(s) each, 0 bytes left',
    );
    // The negative-count form (count, then byte size) is bounded the same way.
    const negative = Buffer.concat([varint(1n), varint(1n), varint(0n), varint(-(2n ** 40n)), varint(4n), Buffer.alloc(4)]);
    expect(refusal(uploadChunk, negative)).toMatch(/^cannot decode message: rows: array block at byte 3 claims 1099511627776 items of at least 3 byte\(s\) each, 4 bytes left$/);
    const size = Buffer.concat([varint(1n), varint(1n), varint(0n), varint(-1n), varint(2n ** 50n)]);
    expect(refusal(uploadChunk, size)).toMatch(/rows: array block at byte 3 claims 1125899906842624 bytes, 0 left/);
  });

  test('zero-size items (null, records of nulls) are capped by count, not by bytes', () => {
    const nulls = parseAvro({ type: 'record', name: 'N', fields: [{ name: 'xs', type: { type: 'array', items: 'null' } }] });
    const empties = parseAvro({
      type: 'record',
      name: 'E',
      fields: [{ name: 'xs', type: { type: 'array', items: { type: 'record', name: 'Empty', fields: [{ name: 'n', type: 'null' }] } } }],
    });
    expect(minEncodedSize(empties)).toBe(1);
    for (const t of [nulls, empties]) {
      expect(refusal(t, Buffer.concat([varint(2n ** 60n), varint(0n)]))).toMatch(
        /^cannot decode message: xs: array block at byte 0 claims 1152921504606846976 items of a zero-size type, more than the record's limit/,
      );
      // Under the cap it decodes: the cap is on count, and the values are tiny.
      const fine = Buffer.concat([varint(10_000n), varint(0n)]);
      checkAvroBounds(t, fine);
      expect((t.fromBuffer(fine) as { xs: unknown[] }).xs).toHaveLength(10_000);
      // Across blocks the total counts.
      expect(refusal(t, Buffer.concat([varint(6000n), varint(6000n), varint(0n)]))).toMatch(/at byte \d+ claims 6000 items of a zero-size type/);
    }
  });

  test('string, bytes and fixed lengths are checked against the bytes left', () => {
    const body = Buffer.concat([varint(2n ** 62n), Buffer.from('x')]);
    expect(refusal(orderEvent, body)).toBe('cannot decode message: event_id: string at byte 0 claims 4611686018427387904 bytes, 1 left');
    expect(refusal(orderEvent, varint(-5n))).toBe('cannot decode message: event_id: string length at byte 0 is negative (-5)');
    const bytes = parseAvro({ type: 'record', name: 'B', fields: [{ name: 'b', type: 'bytes' }, { name: 'f', type: { type: 'fixed', name: 'F', size: 16 } }] });
    expect(refusal(bytes, Buffer.concat([varint(100n), Buffer.alloc(3)]))).toMatch(/^cannot decode message: b: bytes at byte 0 claims 100 bytes, 3 left$/);
    expect(refusal(bytes, Buffer.concat([varint(0n), Buffer.alloc(15)]))).toMatch(/^cannot decode message: f: fixed F of 16 bytes needs 16 bytes, 15 left$/);
    // Invalid UTF-8 (a lone continuation byte), short and long, at every alignment: refused.
    for (const len of [5, 80, 203]) {
      for (const shift of [0, 1, 2, 3]) {
        const text = Buffer.alloc(len, 0x61);
        text[len - 1 - shift] = 0x80;
        const valid = orderEvent.toBuffer(event({ event_id: 'a'.repeat(len) }));
        const bad = Buffer.from(valid);
        const at = varint(BigInt(len)).length;
        text.copy(bad, at);
        const padded = Buffer.concat([Buffer.alloc(shift), bad]).subarray(shift);
        expect(refusal(orderEvent, padded)).toMatch(/^cannot decode message: event_id: string at byte \d+ \(\d+ bytes\) is not valid UTF-8$/);
      }
    }
  });

  test('longs past 10 bytes or int64, and ints past int32, are refused, never wrapped', () => {
    const prefix = Buffer.concat([varint(1n), Buffer.from('e'), varint(0n)]);
    // 2^63 in zigzag needs an 11th varint byte; 10 bytes whose last carries more than bit 63.
    const eleven = Buffer.from('8080808080808080808001', 'hex');
    const tenTooBig = Buffer.from('80808080808080808002', 'hex');
    expect(refusal(orderEvent, Buffer.concat([prefix, eleven]))).toBe('cannot decode message: order_id: long at byte 3 is a varint longer than 10 bytes');
    expect(refusal(orderEvent, Buffer.concat([prefix, tenTooBig]))).toBe('cannot decode message: order_id: long at byte 3 is 9223372036854775808, outside int64');
    const chunkPrefix = varint(652024209997893632n);
    expect(refusal(uploadChunk, Buffer.concat([chunkPrefix, Buffer.from('8080808010', 'hex')]))).toMatch(/^cannot decode message: chunk_index: int at byte 9 is 2147483648, outside int32$/);
    expect(refusal(uploadChunk, Buffer.concat([chunkPrefix, Buffer.from('808080808001', 'hex')]))).toMatch(/chunk_index: int at byte 9 is a varint longer than 5 bytes/);
    // An 11-byte count is refused the same way.
    expect(refusal(uploadChunk, Buffer.concat([chunkPrefix, varint(1n), Buffer.from('ffffffffffffffffffff01', 'hex')]))).toMatch(/columns: array block count at byte 10 is a varint longer than 10 bytes/);
  });

  test('truncated bodies, trailing bytes, union, enum and boolean bytes are refused with a path', () => {
    const valid = orderEvent.toBuffer(event({ affiliate_user_id: 652024209997893999n }));
    for (let cut = 0; cut < valid.length; cut++) expect(refusal(orderEvent, valid.subarray(0, cut))).toMatch(/^cannot decode message: .*(truncated|claims|left)/);
    expect(refusal(orderEvent, Buffer.concat([valid, Buffer.from([0])]))).toMatch(/1 trailing byte\(s\) after the record/);
    const enumAt = 1 + 'ord-652024209997893632-completed'.length;
    const badEnum = Buffer.from(valid);
    badEnum[enumAt] = 0x06; // index 3 of 3 symbols
    expect(refusal(orderEvent, badEnum)).toMatch(/^cannot decode message: event_type: enum sts\.orders\.OrderEventType index 3 at byte \d+ is not one of its 3 symbols$/);
    const unionAt = valid.indexOf(Buffer.concat([varint(1n), varint(652024209997893999n)]));
    const badUnion = Buffer.from(valid);
    badUnion[unionAt] = 0x04; // branch 2 of [null, long]
    expect(refusal(orderEvent, badUnion)).toMatch(/^cannot decode message: affiliate_user_id: union branch 2 at byte \d+ is not one of its 2 branches$/);
    const flag = parseAvro({ type: 'record', name: 'Flag', fields: [{ name: 'rows', type: { type: 'array', items: { type: 'record', name: 'R', fields: [{ name: 'ok', type: 'boolean' }] } } }] });
    expect(refusal(flag, Buffer.from([0x04, 0x01, 0x02, 0x00]))).toBe('cannot decode message: rows[1].ok: boolean byte is 2, not 0 or 1 (at byte 2)');
  });

  test('a recursive writer schema is walked only as deep as the nesting limit', () => {
    const list = parseAvro({ type: 'record', name: 'Node', fields: [{ name: 'next', type: ['null', 'Node'] }] });
    const deep = Buffer.concat([Buffer.alloc(100_000, 0x02), Buffer.from([0x00])]);
    expect(refusal(list, deep)).toMatch(/^cannot decode message: next<Node>\.next<Node>.*: record Node nested deeper than the limit$/);
    const shallow = Buffer.concat([Buffer.alloc(20, 0x02), Buffer.from([0x00])]);
    checkAvroBounds(list, shallow);
  });
});

describe('the codec against the real registry', () => {
  const registry = new RegistryClient(r.config.schemaRegistryUrl);

  async function registered(schema: object | string) {
    const topic = await r.topic('bounds', 1);
    return registry.register(`${topic}-value`, typeof schema === 'string' ? schema : JSON.stringify(schema));
  }

  test('unknown magic, a short header, an unknown schema id and an oversized record are decode failures', async () => {
    const codec = new AvroCodec(registry, { maxRecordBytes: 4096 });
    const ctx = { topic: 'sts.test', partition: 1, offset: '42' };
    const attempt = (buf: Buffer | null) => codec.decode(buf, ctx);
    await expect(attempt(Buffer.from([1, 0, 0, 0, 1, 0]))).rejects.toMatchObject({
      code: 'STS_DECODE_FAILED',
      retriable: false,
      message: 'cannot decode message: unknown magic byte 1 (expected 0, the Confluent wire format)',
      context: ctx,
    });
    await expect(attempt(Buffer.from([0, 0]))).rejects.toMatchObject({ code: 'STS_DECODE_FAILED', message: expect.stringMatching(/2 bytes, shorter than the 5-byte header/) });
    await expect(attempt(null)).rejects.toMatchObject({ code: 'STS_DECODE_FAILED' });
    await expect(attempt(Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0, 0]))).rejects.toMatchObject({
      code: 'STS_DECODE_FAILED',
      retriable: false,
      message: expect.stringMatching(/^cannot decode message: schema id 2147483632 cannot be resolved: schema id 2147483632 is not in the registry$/),
    });
    await expect(attempt(Buffer.concat([Buffer.from([0, 0, 0, 0, 1]), crypto.randomBytes(4092)]))).rejects.toMatchObject({
      code: 'STS_DECODE_FAILED',
      message: 'cannot decode message: message is 4097 bytes, larger than the 4096-byte limit (STS_MAX_RECORD_BYTES)',
    });
  });

  test('a hostile body under a real schema id is refused with its path; the same id still decodes valid records', async () => {
    const id = await registered(fs.readFileSync(path.join(PROJECT_ROOT, 'schemas', 'upload-chunk.avsc'), 'utf8'));
    const codec = new AvroCodec(registry);
    const header = Buffer.from([0, 0, 0, 0, 0]);
    header.writeUInt32BE(id, 1);
    const hostile = Buffer.concat([header, varint(1n), varint(1n), varint(2n ** 31n)]);
    await expect(codec.decode(hostile, { offset: '9' })).rejects.toMatchObject({
      code: 'STS_DECODE_FAILED',
      message: `cannot decode message: Avro body does not match schema ${id}: columns: array block at byte 2 claims 2147483648 items of at least 1 byte(s) each, 0 bytes left`,
      context: { offset: '9', schemaId: id },
    });
    const value = { upload_id: 652024209997893632n, chunk_index: 3, columns: ['external_ref'], rows: [{ row_number: INT64_MAX, raw: 'a,b', problem: null }] };
    const good = await codec.encode(id, value);
    expect((await codec.decode(good)).value).toEqual(value);
  });

  test('the default limit is STS_MAX_RECORD_BYTES and admits the largest upload chunk intake writes', async () => {
    expect(r.config.maxRecordBytes).toBe(1_048_588);
    const codec = new AvroCodec(registry, { maxRecordBytes: r.config.maxRecordBytes });
    const id = await registered(fs.readFileSync(path.join(PROJECT_ROOT, 'schemas', 'upload-chunk.avsc'), 'utf8'));
    // 512 KiB of rows plus one 64 KiB row past it (intake flushes after the row that crosses), in
    // 5000 rows with 18-digit row numbers: the largest chunk intake can produce.
    const rows = Array.from({ length: 5000 }, (_, i) => ({ row_number: 652024209997893632n + BigInt(i), raw: 'x'.repeat(i === 4999 ? 65_536 : 105), problem: i % 2 ? 'ROW_TOO_LARGE' : null }));
    const big = await codec.encode(id, { upload_id: 652024209997893632n, chunk_index: 0, columns: ['external_ref', 'shop_user_id', 'region', 'currency', 'amount', 'item_type'], rows });
    expect(big.length).toBeGreaterThan(512 * 1024);
    expect(big.length).toBeLessThan(r.config.maxRecordBytes);
    expect(((await codec.decode(big)).value as { rows: unknown[] }).rows).toHaveLength(5000);
  });
});
