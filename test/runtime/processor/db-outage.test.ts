import { Registry } from 'prom-client';
import { withDatabase } from '../../../runtime/config';
import { createDb } from '../../../runtime/db/knex';
import { useTestResources } from '../../fixtures/resources';
import { TcpProxy } from '../../fixtures/tcp-proxy';
import {
  applyEffects,
  effectProcessor,
  effectSummary,
  produceEffects,
} from '../../fixtures/effect-processor';
import {
  effectSetup,
  endOffsets,
  offsetsAtEnd,
  startInProcess,
  waitFor,
} from '../../fixtures/processor-harness';

const r = useTestResources();
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

describe('processor under database failure', () => {
  test('retries through a 10 s database outage and resumes with nothing lost', async () => {
    const s = await effectSetup(r, 3);
    const N = 6000;
    const total = await produceEffects(r.kafka, s.codec, s.schemaId, s.topic, 0, N);

    // The processor reaches MariaDB only through the proxy; the test's own `s.db` does not.
    const mysql = new URL(r.config.mysqlUrl);
    const proxy = new TcpProxy(mysql.hostname, Number(mysql.port || 3306));
    const port = await proxy.start();
    r.defer(() => proxy.close());
    const viaProxy = new URL(s.url);
    viaProxy.port = String(port);
    const db = createDb(withDatabase(viaProxy.toString(), new URL(s.url).pathname.slice(1)), {
      pool: 4,
    });
    r.defer(() => db.destroy());

    const metrics = new Registry();
    const def = effectProcessor(s.topic, s.group, {
      async handleBatch(ctx, records) {
        await applyEffects(ctx.trx, records);
        await sleep(40); // slow enough that the outage lands mid-run
      },
    });
    const handle = await startInProcess(
      r,
      def,
      { ...s, db },
      { maxRecordsPerTransaction: 100, retryMaxDelayMs: 2000 },
      metrics,
    );

    await waitFor('the first effects', async () => (await effectSummary(s.db)).rows > 0);
    await proxy.cut();
    const atCut = (await effectSummary(s.db)).rows;
    await sleep(10_000);
    // Nothing can have been applied through a dead link.
    expect((await effectSummary(s.db)).rows).toBe(atCut);
    await proxy.restore();

    await waitFor('every offset committed', () => offsetsAtEnd(r.kafka, s.group, s.topic), 90_000);
    await handle.stop();
    expect(atCut).toBeLessThan(N);
    expect(await effectSummary(s.db)).toEqual({ rows: N, total, balance: total });
    // A database outage is not the records' fault: none of them may be dead-lettered.
    expect([...(await endOffsets(r.kafka, s.dlq)).values()]).toEqual([0n]);
    expect(await metrics.metrics()).toMatch(
      /sts_processor_retries_total\{processor="test-effects",code="[A-Z_]+"\} [1-9]/,
    );
  }, 180_000);
});
