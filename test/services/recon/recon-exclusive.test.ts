import type { Knex } from 'knex';
import { Registry } from 'prom-client';
import { Lease } from '../../../runtime/db/lease';
import { createLogger } from '../../../runtime/logger';
import { listFindings } from '../../../services/recon/finding-store';
import { ReconRunner } from '../../../services/recon/recon-runner';
import type { ReconRule } from '../../../services/recon/recon-types';
import { contenderDb, contenderUrls, expireLease } from '../../fixtures/contenders';
import { useTestResources } from '../../fixtures/resources';

/**
 * One reconciliation run at a time per database (services/recon/recon-runner.ts): a run holds the
 * `sts.recon` lease, a second run waits for it, and a run that lost the lease saves nothing. Each
 * run here has a pool of its own (contenders.ts), so the test can put them on different nodes.
 */
const r = useTestResources();
const logger = createLogger('recon-exclusive-test', process.env.STS_LOG_LEVEL ?? 'warn');
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
const ENTITY = 'SG/20261116/652024209997120001/SGD';

function runnerOn(db: Knex, rule: ReconRule): ReconRunner {
  const runner = new ReconRunner({ db, logger, metrics: new Registry(), lease: { ttlMs: 1000 } }, { lockWaitMs: 30_000 }, [rule]);
  r.defer(() => runner.close());
  return runner;
}

test('two reconciliation runs at once: the second waits for the first, their rules never overlap, and both report', async () => {
  const { url } = await r.database();
  const spans: Array<[number, number]> = [];
  // Longer than the lease TTL: the running one keeps its lease by renewing it.
  const rule: ReconRule = {
    name: 'probe',
    description: 'a rule that takes its time',
    async check() {
      const start = Date.now();
      await sleep(2500);
      spans.push([start, Date.now()]);
      return [{ rule: 'probe', severity: 'WARNING', entity: ENTITY, detail: 'found' }];
    },
  };
  const runners = contenderUrls(url).map((u) => runnerOn(contenderDb(r, u), rule));
  const results = await Promise.all(runners.map((x) => x.run()));

  expect(results.map((x) => x.rules.map((y) => [y.rule, y.ok, y.found]))).toEqual([[['probe', true, 1]], [['probe', true, 1]]]);
  spans.sort((a, b) => a[0] - b[0]);
  expect(spans).toHaveLength(2);
  expect(spans[1]![0]).toBeGreaterThanOrEqual(spans[0]![1]);
}, 60_000);

test('a run whose lease was taken over while its rule ran saves none of its findings', async () => {
  const { db, url } = await r.database();
  const [dbA, dbB] = contenderUrls(url).map((u) => contenderDb(r, u)) as [Knex, Knex];
  let steal = true;
  const heir = new Lease(dbB, 'sts.recon');
  r.defer(() => heir.release());
  const rule: ReconRule = {
    name: 'probe',
    description: 'a rule during which the run loses its lease',
    async check() {
      if (steal) {
        // The run stalls past its lease, and another run takes it over.
        await expireLease(db, 'sts.recon');
        expect(await heir.tryAcquire()).toBe(true);
      }
      return [{ rule: 'probe', severity: 'CRITICAL', entity: ENTITY, detail: 'found' }];
    },
  };
  const runner = runnerOn(dbA, rule);
  await expect(runner.run()).rejects.toMatchObject({ code: 'STS_LOCK_UNAVAILABLE' });
  expect(await listFindings(db, { all: true })).toEqual([]);

  // Once the other run is done, the next run saves the finding.
  steal = false;
  await heir.release();
  await expect(runner.run()).resolves.toMatchObject({ rules: [expect.objectContaining({ ok: true, opened: 1 })] });
  expect((await listFindings(db)).map((f) => [f.rule, f.entity])).toEqual([['probe', ENTITY]]);
}, 60_000);
