import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Counter, Registry } from 'prom-client';
import { DLQ_HEADERS } from '../../../runtime/processor/dlq-publisher';
import { waitFor } from '../../fixtures/processor-harness';
import { putFaults, useGatewayHarness } from '../../fixtures/gateway-harness';
import { useTestResources } from '../../fixtures/resources';
import { expectPaidExactlyOnce, statusCounts } from '../../fixtures/payment-assertions';
import {
  flushNamespace,
  makePayouts,
  paymentWorld,
  publishPayouts,
  seedPayoutRows,
  startPayment,
} from '../../fixtures/payment-harness';

const r = useTestResources();
const gw = useGatewayHarness();

/** A webhook receiver of the test's own, on a free port. */
async function webhook(): Promise<{ url: string; alerts: Array<Record<string, string>> }> {
  const alerts: Array<Record<string, string>> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      alerts.push(JSON.parse(body) as Record<string, string>);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  r.defer(() => new Promise((ok) => server.close(ok)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`, alerts };
}

async function escalations(metrics: Registry): Promise<number> {
  const c = metrics.getSingleMetric('sts_payment_escalations_total') as Counter | undefined;
  return ((await c?.get())?.values ?? []).reduce((s, v) => s + v.value, 0);
}

test('a payout still unknown after maxAttempts alerts ops once (log, metric, webhook) and is dead-lettered with its coordinates; it is still paid once the gateway answers', async () => {
  // Every /v1 request answers 503, and the breaker is kept closed, so each check is an attempt.
  const w = await paymentWorld(r, gw, { simArgs: ['--transient-rate', '1'] });
  const redis = r.redis();
  r.defer(() => flushNamespace(redis, w.keyPrefix));
  const hook = await webhook();
  const payouts = makePayouts(3, 3, 9000);
  await seedPayoutRows(w.db, payouts);
  await publishPayouts(r, w, payouts);
  const { metrics } = await startPayment(r, gw, w, redis, {
    client: { breakerVolumeThreshold: 1_000_000 },
    options: {
      maxAttempts: 3,
      retryInitialDelayMs: 100,
      retryMaxDelayMs: 400,
      alertWebhookUrl: hook.url,
    },
  });

  await waitFor('three alerts', async () => hook.alerts.length >= 3, 60_000, 50);
  // Further unknown outcomes keep the payouts in the queue but alert no more.
  await new Promise((ok) => setTimeout(ok, 2000));
  expect(hook.alerts.length).toBe(3);
  expect(await escalations(metrics)).toBe(3);
  expect(new Set(hook.alerts.map((a) => a.payout_id))).toEqual(
    new Set(payouts.map((p) => p.id.toString())),
  );
  expect(hook.alerts[0]).toMatchObject({
    alert: 'payout-unresolved',
    code: 'STS_PAYOUT_UNRESOLVED',
    currency: 'SGD',
  });
  expect(await statusCounts(w.db)).toEqual({ SUBMITTED: 3 });

  const consumer = r.kafka.consumer({ groupId: r.group('dlq') });
  await consumer.connect();
  r.defer(() => consumer.disconnect());
  await consumer.subscribe({ topic: w.dlq, fromBeginning: true });
  const letters: Array<{ headers: Record<string, string>; value: Record<string, unknown> }> = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers = Object.fromEntries(
        Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]),
      );
      letters.push({
        headers,
        value: (await w.codec.decode<Record<string, unknown>>(message.value)).value,
      });
    },
  });
  await waitFor('three dead letters', async () => letters.length >= 3, 30_000);
  for (const l of letters) {
    expect(l.headers[DLQ_HEADERS.code]).toBe('STS_PAYOUT_UNRESOLVED');
    expect(l.headers[DLQ_HEADERS.topic]).toBe(w.topic);
    expect(Number(l.headers[DLQ_HEADERS.offset])).toBeGreaterThanOrEqual(0);
    expect(payouts.map((p) => p.id)).toContain(l.value.payout_id);
  }
  const escalated = await w.db('payout_submission').whereNotNull('escalated_at').count({ n: '*' });
  expect(Number((escalated[0] as { n: number }).n)).toBe(3);

  // The gateway heals: escalated payouts are still checked, and finish on their own.
  await putFaults(w.simUrl, { transientRate: 0 });
  await waitFor('three PAID', async () => (await statusCounts(w.db)).PAID === 3, 30_000);
  await expectPaidExactlyOnce(
    w,
    payouts.map((p) => p.id),
  );
  expect(hook.alerts.length).toBe(3);
}, 150_000);
