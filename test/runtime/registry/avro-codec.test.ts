import fs from 'node:fs';
import path from 'node:path';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { PROJECT_ROOT } from '../../../runtime/config';
import { StsError } from '../../../runtime/errors';
import { DecodeError } from '../../../runtime/registry/registry-errors';
import { AvroCodec } from '../../../runtime/registry/avro-codec';
import { parseAvro } from '../../../runtime/registry/avro-types';
import { RegistryClient } from '../../../runtime/registry/registry-client';
import { useTestResources } from '../../fixtures/resources';
import { FIXTURES_DIR } from '../../fixtures/fixtures-dir';

const r = useTestResources();
const registry = new RegistryClient(r.config.schemaRegistryUrl);
const orderEventSchema = fs.readFileSync(
  path.join(PROJECT_ROOT, 'schemas', 'order-event.avsc'),
  'utf8',
);

/** A subject this file owns; deleted (soft, then permanently) after the file's tests. */
function subject(prefix: string): string {
  const name = `${r.unique(`test.${prefix}`)}-value`;
  r.defer(async () => {
    const url = `${r.config.schemaRegistryUrl}/subjects/${encodeURIComponent(name)}`;
    await fetch(url, { method: 'DELETE' });
    await fetch(`${url}?permanent=true`, { method: 'DELETE' });
  });
  return name;
}

const MAX_LONG = 2n ** 63n - 1n;
const MIN_LONG = -(2n ** 63n);

function orderEvent(overrides: Record<string, unknown> = {}) {
  return {
    event_id: 'evt-652024209997893632-1',
    event_type: 'ORDER_COMPLETED',
    order_id: 652024209997893701n,
    shop_user_id: 652024209997893632n,
    region: 'SG',
    currency: 'SGD',
    amount_minor: 12345n,
    category: 'electronics',
    affiliate_user_id: 652024209997893999n,
    occurred_at: new Date('2024-05-01T08:00:00.000Z'),
    ...overrides,
  };
}

function readHexFixture(name: string): Buffer {
  const text = fs.readFileSync(path.join(FIXTURES_DIR, 'wire', name), 'utf8');
  const hex = text
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .join('')
    .replace(/\s+/g, '');
  return Buffer.from(hex, 'hex');
}

const frame = (schemaId: number, body: Buffer) => {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
};

describe('@kafkajs/confluent-schema-registry against the Apicurio ccompat API', () => {
  it('registers a schema, fetches it by id and round-trips a record', async () => {
    const lib = new SchemaRegistry({ host: r.config.schemaRegistryUrl });
    const schema = JSON.stringify({
      type: 'record',
      name: 'Ping',
      namespace: 'sts.test',
      fields: [
        { name: 'id', type: 'string' },
        { name: 'count', type: 'int' },
      ],
    });
    const { id } = await lib.register(
      { type: SchemaType.AVRO, schema },
      { subject: subject('lib') },
    );
    expect(id).toBeGreaterThan(0);
    const fetched = (await lib.getSchema(id)) as { name?: string };
    expect(fetched.name).toBe('sts.test.Ping');
    const buf = await lib.encode(id, { id: 'a', count: 7 });
    expect(buf.readUInt8(0)).toBe(0);
    expect(buf.readUInt32BE(1)).toBe(id);
    expect(await lib.decode(buf)).toEqual({ id: 'a', count: 7 });
  });
});

describe('AvroCodec', () => {
  const codec = new AvroCodec(registry);
  let orderEventId: number;

  beforeAll(async () => {
    orderEventId = await registry.register(subject('order-event'), orderEventSchema);
  });

  it('encodes values far larger than its starting buffer, and small ones after them, byte for byte as avsc does', async () => {
    const chunkId = await registry.register(subject('upload-chunk'), fs.readFileSync(path.join(PROJECT_ROOT, 'schemas', 'upload-chunk.avsc'), 'utf8'));
    const chunk = (rows: number) => ({
      upload_id: 652024209997893632n,
      chunk_index: 3,
      columns: ['external_ref', 'memo'],
      rows: Array.from({ length: rows }, (_, i) => ({ row_number: BigInt(i + 1), raw: `ref-${i},${'é'.repeat(i % 100)}`, problem: i % 7 === 0 ? 'INVALID_ENCODING' : null })),
    });
    const type = parseAvro(fs.readFileSync(path.join(PROJECT_ROOT, 'schemas', 'upload-chunk.avsc'), 'utf8'));
    for (const value of [chunk(5000), chunk(2), chunk(8000), chunk(1)]) {
      const buf = await codec.encode(chunkId, value);
      expect(buf.subarray(5)).toEqual(type.toBuffer(value));
      expect(buf.readUInt8(0)).toBe(0);
      expect(buf.readUInt32BE(1)).toBe(chunkId);
      expect((await codec.decode(buf)).value).toEqual(value);
    }
  });

  it('encodes occurred_at given as a Date (timestamp-millis over a long)', async () => {
    const buf = await codec.encode(orderEventId, orderEvent());
    const { value } = await codec.decode<{ occurred_at: Date }>(buf);
    expect(value.occurred_at).toEqual(new Date('2024-05-01T08:00:00.000Z'));
  });

  it('round-trips 18-digit ids and amounts at the edges of a 64-bit long exactly as bigint', async () => {
    for (const amount of [MAX_LONG, MIN_LONG, 9007199254740993n, -652024209997893632n]) {
      const event = orderEvent({
        amount_minor: amount,
        order_id: MAX_LONG,
        affiliate_user_id: null,
      });
      const buf = await codec.encode(orderEventId, event);
      const { schemaId, value } = await codec.decode<ReturnType<typeof orderEvent>>(buf);
      expect(schemaId).toBe(orderEventId);
      expect(value.amount_minor).toBe(amount);
      expect(value.order_id).toBe(MAX_LONG);
      expect(value.shop_user_id).toBe(652024209997893632n);
      expect(value.affiliate_user_id).toBeNull();
    }
  });

  it('rejects a JS number where a long is expected, naming the field', async () => {
    // 652024209997893632 as a number is already 652024209997893600: the precision bug of lesson 8.
    const err = await codec
      .encode(orderEventId, orderEvent({ shop_user_id: 652024209997893632 }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StsError);
    expect((err as StsError).code).toBe('STS_ENCODE_FAILED');
    expect((err as StsError).message).toContain('shop_user_id');
  });

  it('decodes the v1 wire fixture to the exact 18-digit ids, and re-encodes it byte for byte', async () => {
    const body = readHexFixture('order-event-v1.hex');
    const expected = orderEvent();
    expect(parseAvro(orderEventSchema).fromBuffer(body)).toEqual(expected);

    const { value } = await codec.decode(frame(orderEventId, body));
    expect(value).toEqual(expected);
    expect(await codec.encode(orderEventId, expected)).toEqual(frame(orderEventId, body));
  });

  describe('refuses bytes it cannot trust with STS_DECODE_FAILED', () => {
    const expectDecodeError = async (buf: Buffer | null, detail: RegExp) => {
      const err = await codec
        .decode(buf, { topic: 'sts.order-events.v1', partition: 3, offset: '42' })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DecodeError);
      expect((err as DecodeError).code).toBe('STS_DECODE_FAILED');
      expect((err as DecodeError).retriable).toBe(false);
      expect((err as DecodeError).message).toMatch(detail);
      expect((err as DecodeError).context).toMatchObject({
        topic: 'sts.order-events.v1',
        partition: 3,
        offset: '42',
      });
    };

    it('a null or short buffer', async () => {
      await expectDecodeError(null, /shorter than the 5-byte header/);
      await expectDecodeError(Buffer.from([0, 0, 0]), /shorter than the 5-byte header/);
    });

    it('a wrong magic byte', async () => {
      const buf = frame(orderEventId, readHexFixture('order-event-v1.hex'));
      buf.writeUInt8(1, 0);
      await expectDecodeError(buf, /magic byte 1/);
    });

    it('a schema id the registry does not know', async () => {
      await expectDecodeError(
        frame(2_000_000_000, readHexFixture('order-event-v1.hex')),
        /schema id 2000000000/,
      );
    });

    it('a body truncated mid-record', async () => {
      const body = readHexFixture('order-event-v1.hex');
      await expectDecodeError(frame(orderEventId, body.subarray(0, 20)), /does not match schema/);
    });
  });
});

describe('parseAvro long forms', () => {
  it('decodes a long written in the object form {"type":"long"} as bigint, without losing digits', () => {
    const type = parseAvro({ type: 'record', name: 'ObjLong', fields: [{ name: 'id', type: { type: 'long' } }] });
    const id = 652024209997893632n;
    const back = type.fromBuffer(type.toBuffer({ id })) as { id: bigint };
    expect(back.id).toBe(id);
  });
});
