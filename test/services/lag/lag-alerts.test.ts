import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LagAlertBody } from '../../../services/lag/lag-alerter';
import { useTestResources } from '../../fixtures/resources';
import { waitFor } from '../../fixtures/processor-harness';
import { consumeUpTo, produceStamped, testMonitor } from '../../fixtures/lag-harness';

/**
 * The webhook, received by a real HTTP server: one alert per episode once the group has been
 * not-OK for alertAfterMs, a retry when the receiver fails, and one "resolved" when it is OK.
 */
const r = useTestResources();

interface Received {
  status: number;
  body: LagAlertBody;
}

async function webhookServer(failFirst: number) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const status = received.length < failFirst ? 503 : 204;
      received.push({ status, body: JSON.parse(raw) as LagAlertBody });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  r.defer(() => new Promise((res) => server.close(res)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/lag`, received };
}

test('posts one alert per episode after alertAfterMs, retries a failed post, and posts resolved once OK', async () => {
  const topic = await r.topic('lag-alert', 1);
  const group = r.group('lag-alert');
  await produceStamped(r.kafka, topic, 12, Date.now() - 120_000, 1000);
  const consumer = await consumeUpTo(r, group, topic, 4n);
  await consumer.disconnect(); // STOPPED with 8 waiting

  const hook = await webhookServer(1);
  const alertAfterMs = 1500;
  const started = Date.now();
  const monitor = testMonitor(
    r,
    [{ group, topic }],
    { intervalMs: 200 },
    { webhookUrl: hook.url, alertAfterMs },
  );
  monitor.start();

  const delivered = () => hook.received.filter((x) => x.status < 300);
  await waitFor('a delivered alert', async () => delivered().length >= 1, 20_000, 100);
  expect(Date.now() - started).toBeGreaterThanOrEqual(alertAfterMs);
  // The first post got a 503 and was sent again at the next sample.
  expect(hook.received[0]).toMatchObject({ status: 503, body: { event: 'lag.alert' } });
  const [alert] = delivered();
  expect(alert!.body).toMatchObject({
    event: 'lag.alert',
    group,
    topic,
    status: 'STOPPED',
    lag: '8',
  });
  expect(alert!.body.durationMs).toBeGreaterThanOrEqual(alertAfterMs);
  expect(alert!.body.lagSeconds).toBeGreaterThan(100);
  expect(alert!.body.text).toContain(group);

  // Still STOPPED for many more samples: no second alert in the same episode.
  await new Promise((res) => setTimeout(res, 2000));
  expect(hook.received.map((x) => x.body.event)).toEqual(['lag.alert', 'lag.alert']);

  // The consumer comes back and catches up: the episode ends with one resolved post.
  await consumeUpTo(r, group, topic, 12n);
  await waitFor(
    'the resolved post',
    async () => hook.received.some((x) => x.body.event === 'lag.resolved'),
    20_000,
    100,
  );
  await new Promise((res) => setTimeout(res, 1000));
  const events = hook.received.map((x) => x.body.event);
  expect(events).toEqual(['lag.alert', 'lag.alert', 'lag.resolved']);
  // The episode ends at the first OK sample. A group with members that is consuming is OK before
  // it reaches lag 0 (lag-evaluator.ts, rule 6), so the post reports whatever that sample saw:
  // between 0 and the 8 that were waiting, never more.
  const resolved = hook.received[2]!.body;
  expect(resolved).toMatchObject({ group, topic, status: 'OK' });
  expect(resolved.lag).toMatch(/^\d+$/);
  expect(BigInt(resolved.lag)).toBeLessThanOrEqual(8n);
  await waitFor('lag 0', async () => monitor.latest()?.groups[0]?.lag === 0n, 10_000, 100);
  expect(monitor.latest()!.groups[0]!.status).toBe('OK');
});

test('a group that recovers before alertAfterMs posts nothing', async () => {
  const topic = await r.topic('lag-blip', 1);
  const group = r.group('lag-blip');
  await produceStamped(r.kafka, topic, 3, Date.now() - 10_000, 1000);
  const hook = await webhookServer(0);
  const monitor = testMonitor(
    r,
    [{ group, topic }],
    { intervalMs: 200 },
    { webhookUrl: hook.url, alertAfterMs: 60_000 },
  );
  monitor.start();
  await waitFor(
    'a STOPPED sample',
    async () => monitor.latest()?.groups[0]?.status === 'STOPPED',
    10_000,
    100,
  );
  await consumeUpTo(r, group, topic, 3n);
  await waitFor('OK', async () => monitor.latest()?.groups[0]?.status === 'OK', 10_000, 100);
  await new Promise((res) => setTimeout(res, 500));
  expect(hook.received).toEqual([]);
});
