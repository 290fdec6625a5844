import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../../runtime/config';
import { AvroCodec } from '../../../runtime/registry/avro-codec';
import { RegistryClient } from '../../../runtime/registry/registry-client';
import { valueSubject } from '../../../runtime/topology/types';
import type { OrderEvent } from '../../../contracts/order-event';
import { runCli } from '../../fixtures/cli';
import { useTestResources } from '../../fixtures/resources';

const r = useTestResources();

test('sts orders produce publishes reproducible Avro order events keyed by seller, with 18-digit ids', async () => {
  const topic = await r.topic('orders-produce', 3);
  const registry = new RegistryClient(r.config.schemaRegistryUrl);
  await registry.register(valueSubject(topic), fs.readFileSync(path.join(PROJECT_ROOT, 'schemas', 'order-event.avsc'), 'utf8'));
  const res = await runCli(['orders', 'produce', '--count', '200', '--sellers', '20', '--region', 'my', '--seed', '7', '--topic', topic, '--json']);
  expect(res.code).toBe(0);
  const summary = JSON.parse(res.stdout) as { events: number; region: string };
  expect(summary.region).toBe('MY');
  expect(summary.events).toBeGreaterThanOrEqual(200);

  const codec = new AvroCodec(registry);
  const consumer = r.kafka.consumer({ groupId: r.group('orders-produce') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: Array<{ key: string; event: OrderEvent }> = [];
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        seen.push({ key: message.key!.toString(), event: (await codec.decode<OrderEvent>(message.value!, { topic, partition: 0, offset: message.offset })).value });
        if (seen.length === summary.events) resolve();
      },
    });
  });
  await consumer.disconnect();
  expect(new Set(seen.map((s) => s.event.event_id)).size).toBe(summary.events);
  for (const { key, event } of seen) {
    expect(key).toBe(event.shop_user_id.toString());
    expect(key).toMatch(/^\d{18}$/);
    expect([event.region, event.currency]).toEqual(['MY', 'MYR']);
  }
  expect(seen.filter((s) => s.event.event_type === 'ORDER_COMPLETED')).toHaveLength(200);
}, 120_000);

test('a bad region or count is refused with a fix', async () => {
  const res = await runCli(['orders', 'produce', '--count', '0', '--region', 'SG']);
  expect(res.code).not.toBe(0);
  expect(res.stderr).toMatch(/--count must be a whole number/);
  const bad = await runCli(['orders', 'produce', '--count', '5', '--region', 'XX']);
  expect(bad.stderr).toMatch(/unknown region XX/);
});
