import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SingleActive } from '../../../runtime/db/single-active';
import { createLogger } from '../../../runtime/logger';
import type { LagAlertBody } from '../../../services/lag/lag-alerter';
import { LagMonitor } from '../../../services/lag/lag-monitor';
import { ReconRunner } from '../../../services/recon/recon-runner';
import { ReconScheduler } from '../../../services/recon/recon-scheduler';
import { contenderDb, contenderUrls, expireLease } from '../../fixtures/contenders';
import { consumeUpTo, produceStamped } from '../../fixtures/lag-harness';
import { waitFor } from '../../fixtures/processor-harness';
import { useTestResources } from '../../fixtures/resources';

/**
 * Periodic jobs that must run once per pipeline, however many `sts run all` instances there are
 * (docs/ARCHITECTURE.md, "Scale-out"): one instance holds each role, the others stand by, and a
 * standby takes the role when the holder releases it or its lease runs out.
 */
const r = useTestResources();
const logger = createLogger('test-single-active', process.env.STS_LOG_LEVEL ?? 'warn');

test('one holder per role; a standby takes it over when the holder releases it or its lease runs out', async () => {
  const { db, url } = await r.database();
  const [dbA, dbB] = contenderUrls(url).map((u) => contenderDb(r, u)) as [typeof db, typeof db];
  const a = new SingleActive(dbA, 'recon-scheduler', logger);
  const b = new SingleActive(dbB, 'recon-scheduler', logger);
  const other = new SingleActive(dbA, 'lag-alerts', logger);
  r.defer(async () => (await a.release(), await b.release(), await other.release()));

  expect(await a.active()).toBe(true);
  expect(await b.active()).toBe(false);
  // Asked again, the holder still holds it (checked with the server) and the standby still waits.
  expect([await a.active(), await b.active()]).toEqual([true, false]);
  // Roles are independent of each other.
  expect(await other.active()).toBe(true);

  // The holder's lease runs out (a crashed instance's TTL passed, or it stalled past it): the
  // standby takes the role at its next ask, and the old holder learns it lost the role before
  // acting.
  await expireLease(db, 'sts.role.recon-scheduler');
  await waitFor('the standby takes the role', () => b.active(), 10_000, 100);
  expect(await a.active()).toBe(false);

  // A clean hand-over: the holder releases, the other takes it at its next ask.
  await b.release();
  expect(await a.active()).toBe(true);
  expect(await b.active()).toBe(false);
});

test('two reconciliation schedulers on one pipeline make one run per tick between them, and the standby runs once the active one stops', async () => {
  const { url } = await r.database();
  const [firstUrl, secondUrl] = contenderUrls(url) as [string, string];
  const schedulerOf = (name: string, dbUrl: string) => {
    const db = contenderDb(r, dbUrl);
    const runner = ReconRunner.fromConfig(r.config, {
      db,
      logger: logger.child({ instance: name }),
    });
    const runs = jest.spyOn(runner, 'run');
    const scheduler = new ReconScheduler(
      runner,
      60_000,
      logger,
      new SingleActive(db, 'recon-scheduler', logger),
    );
    return { scheduler, runs };
  };
  const first = schedulerOf('first', firstUrl);
  const second = schedulerOf('second', secondUrl);
  r.defer(() => first.scheduler.stop());
  r.defer(() => second.scheduler.stop());

  for (let tick = 0; tick < 3; tick++)
    await Promise.all([first.scheduler.tick(), second.scheduler.tick()]);
  expect(first.runs.mock.calls.length + second.runs.mock.calls.length).toBe(3);
  const [active, standby] = first.runs.mock.calls.length === 3 ? [first, second] : [second, first];
  expect(standby.runs).not.toHaveBeenCalled();

  // The active instance stops (it releases the role): the standby runs at its next tick.
  await active.scheduler.stop();
  await standby.scheduler.tick();
  expect(standby.runs).toHaveBeenCalledTimes(1);
  // The standby's run went through: it reports on its rules.
  await expect(standby.runs.mock.results[0]!.value).resolves.toMatchObject({
    rules: expect.any(Array),
  });
});

test('two lag monitors with alerts on one pipeline post one alert per episode between them', async () => {
  const { url } = await r.database();
  const urls = contenderUrls(url);
  const topic = await r.topic('lag-one-alert', 1);
  const group = r.group('lag-one-alert');
  await produceStamped(r.kafka, topic, 10, Date.now() - 120_000, 1000);
  const consumer = await consumeUpTo(r, group, topic, 4n);
  await consumer.disconnect(); // STOPPED with 6 waiting

  const received: LagAlertBody[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => (received.push(JSON.parse(raw) as LagAlertBody), res.writeHead(204).end()));
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  r.defer(() => new Promise((res) => server.close(res)));
  const webhookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/lag`;

  const monitors = [1, 2].map((n) => {
    const monitor = new LagMonitor(
      {
        kafka: r.kafka,
        logger: logger.child({ instance: n }),
        alert: { webhookUrl, alertAfterMs: 500 },
        alertRole: new SingleActive(contenderDb(r, urls[n - 1]!), 'lag-alerts', logger),
      },
      [{ group, topic }],
      { intervalMs: 200 },
    );
    r.defer(() => monitor.stop());
    monitor.start();
    return monitor;
  });
  await waitFor('an alert', async () => received.length >= 1, 20_000, 100);
  // Both monitors keep sampling the STOPPED group for a while: still one alert.
  await new Promise((res) => setTimeout(res, 2000));
  expect(monitors.every((m) => m.latest()?.groups[0]?.status === 'STOPPED')).toBe(true);
  expect(received.map((b) => [b.event, b.group, b.status])).toEqual([
    ['lag.alert', group, 'STOPPED'],
  ]);
});
