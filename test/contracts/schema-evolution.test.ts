import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../runtime/config';
import { SchemaIncompatibleError } from '../../runtime/registry/registry-errors';
import { AvroCodec } from '../../runtime/registry/avro-codec';
import { parseAvro } from '../../runtime/registry/avro-types';
import { RegistryClient } from '../../runtime/registry/registry-client';
import { useTestResources } from '../fixtures/resources';

/**
 * The contract downstream and upstream teams rely on (docs/DESIGN.md, "Contracts"): subjects are
 * `<topic>-value` with BACKWARD compatibility, and a schema changes only by adding an optional
 * field with a default.
 */

const r = useTestResources();
const registry = new RegistryClient(r.config.schemaRegistryUrl);
const v1Text = fs.readFileSync(path.join(PROJECT_ROOT, 'schemas', 'order-event.avsc'), 'utf8');

interface AvroField {
  name: string;
  type: unknown;
  default?: unknown;
}
interface AvroRecord {
  type: string;
  name: string;
  namespace: string;
  fields: AvroField[];
}
const v1 = JSON.parse(v1Text) as AvroRecord;
const withFields = (...extra: AvroField[]) =>
  JSON.stringify({ ...v1, fields: [...v1.fields, ...extra] });

function subject(prefix: string): string {
  const name = `${r.unique(`test.${prefix}`)}-value`;
  r.defer(async () => {
    const url = `${r.config.schemaRegistryUrl}/subjects/${encodeURIComponent(name)}`;
    await fetch(url, { method: 'DELETE' });
    await fetch(`${url}?permanent=true`, { method: 'DELETE' });
  });
  return name;
}

const event = {
  event_id: 'evt-652024209997893632-7',
  event_type: 'ORDER_REFUNDED',
  order_id: 652024209997893701n,
  shop_user_id: 652024209997893632n,
  region: 'MY',
  currency: 'MYR',
  amount_minor: 9_223_372_036_854_775_807n,
  category: 'fashion',
  affiliate_user_id: null,
  occurred_at: new Date('2024-05-02T00:00:00.000Z'),
};

// What upstream publishes: docs/DESIGN.md, "Contracts"; field by field in docs/CONTRACTS.md.
describe('schemas/order-event.avsc is the documented OrderEvent v1 contract', () => {
  const byName = new Map(v1.fields.map((f) => [f.name, f]));

  it('is the record sts.orders.OrderEvent with exactly the contract fields, in order', () => {
    expect(v1.type).toBe('record');
    expect(`${v1.namespace}.${v1.name}`).toBe('sts.orders.OrderEvent');
    expect(v1.fields.map((f) => f.name)).toEqual([
      'event_id',
      'event_type',
      'order_id',
      'shop_user_id',
      'region',
      'currency',
      'amount_minor',
      'category',
      'affiliate_user_id',
      'occurred_at',
    ]);
  });

  it('types every field as the contract says', () => {
    expect(byName.get('event_id')?.type).toBe('string');
    expect(byName.get('event_type')?.type).toMatchObject({
      type: 'enum',
      symbols: ['ORDER_COMPLETED', 'ORDER_REFUNDED', 'ORDER_ADJUSTED'],
    });
    for (const f of ['order_id', 'shop_user_id', 'amount_minor'])
      expect(byName.get(f)?.type).toBe('long');
    for (const f of ['region', 'currency', 'category']) expect(byName.get(f)?.type).toBe('string');
    expect(byName.get('affiliate_user_id')).toMatchObject({
      type: ['null', 'long'],
      default: null,
    });
    expect(byName.get('occurred_at')?.type).toEqual({
      type: 'long',
      logicalType: 'timestamp-millis',
    });
  });

  it('parses with bigint longs and Date timestamps', () => {
    const t = parseAvro(v1Text);
    expect(t.isValid(event)).toBe(true);
    expect(t.isValid({ ...event, shop_user_id: 652024209997893632 })).toBe(false);
  });
});

describe('BACKWARD compatibility enforced by the registry', () => {
  it('refuses a new required field without a default with STS_SCHEMA_INCOMPATIBLE', async () => {
    const s = subject('order-event-required');
    await registry.register(s, v1Text);
    const err = await registry
      .register(s, withFields({ name: 'sales_channel', type: 'string' }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchemaIncompatibleError);
    expect((err as SchemaIncompatibleError).code).toBe('STS_SCHEMA_INCOMPATIBLE');
    expect((err as SchemaIncompatibleError).context).toMatchObject({ subject: s });
  });

  it('refuses changing a long to a string', async () => {
    const s = subject('order-event-retype');
    await registry.register(s, v1Text);
    const retyped = {
      ...v1,
      fields: v1.fields.map((f) => (f.name === 'amount_minor' ? { ...f, type: 'string' } : f)),
    };
    await expect(registry.register(s, JSON.stringify(retyped))).rejects.toMatchObject({
      code: 'STS_SCHEMA_INCOMPATIBLE',
    });
  });

  describe('an optional field with a default', () => {
    const codec = new AvroCodec(registry);
    const v2Text = withFields({ name: 'sales_channel', type: ['null', 'string'], default: null });
    const s = subject('order-event-evolve');
    let v1Id: number;
    let v2Id: number;

    beforeAll(async () => {
      v1Id = await registry.register(s, v1Text);
      v2Id = await registry.register(s, v2Text);
    });

    it('is accepted as a new version', () => {
      expect(v2Id).not.toBe(v1Id);
    });

    it('lets a consumer built on v1 read v2 events, dropping the field it does not know', async () => {
      const buf = await codec.encode(v2Id, { ...event, sales_channel: 'app' });
      const { schemaId, value } = await codec.decode(buf, {}, parseAvro(v1Text));
      expect(schemaId).toBe(v2Id);
      expect(value).toEqual(event);
    });

    it('lets a consumer built on v2 read v1 events, filling the default', async () => {
      const buf = await codec.encode(v1Id, event);
      const { value } = await codec.decode(buf, {}, parseAvro(v2Text));
      expect(value).toEqual({ ...event, sales_channel: null });
    });
  });
});
