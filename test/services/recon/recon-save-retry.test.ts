import type { Knex } from 'knex';
import { Registry } from 'prom-client';
import { createLogger } from '../../../runtime/logger';
import { listFindings } from '../../../services/recon/finding-store';
import { ReconRunner } from '../../../services/recon/recon-runner';
import type { ReconRule } from '../../../services/recon/recon-types';
import { waitFor } from '../../fixtures/processor-harness';
import { useTestResources } from '../../fixtures/resources';

/**
 * A reconciliation save that loses to another write is tried again, not turned into a rule error:
 * on Galera a save can fail certification against a write from another node, and on one server a
 * deadlock does the same. Here a real deadlock: another transaction holds the lease row the save
 * fences on, then inserts the very finding the save has just inserted. InnoDB rolls back the
 * transaction that changed fewer rows, so the other one first writes rows of its own and the
 * save is the victim. The retry then waits for that transaction, which rolls back, and commits.
 */
const r = useTestResources();
const ENTITY = 'SG/20261116/652024209997130001/SGD';

test('a findings save chosen as a deadlock victim is saved on its retry, with the finding kept once', async () => {
  const { db, name } = await r.database();
  await db.schema.createTable('scratch_weight', (t) => t.integer('n').primary());
  const rival: Knex.Transaction = await db.transaction();
  const rule: ReconRule = {
    name: 'probe',
    description: 'a rule whose save meets a rival transaction',
    async check() {
      // The rival takes the lease row (the save's fence waits on it) and grows heavier than the save.
      await rival.raw("UPDATE role_lease SET fenced_writes = fenced_writes WHERE name = 'sts.recon'");
      await rival('scratch_weight').insert(Array.from({ length: 500 }, (_, n) => ({ n })));
      return [{ rule: 'probe', severity: 'WARNING', entity: ENTITY, detail: 'found' }];
    },
  };
  const runner = new ReconRunner({ db, logger: createLogger('recon-save-retry', 'error'), metrics: new Registry(), lease: { ttlMs: 30_000 } }, { lockWaitMs: 30_000 }, [rule]);
  r.defer(() => runner.close());
  const run = runner.run();

  // Once the save has inserted its finding and waits on the lease row, the rival inserts the same
  // finding: each now waits for the other.
  const waiting = async () =>
    Number(
      ((await db.raw(
        "SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id WHERE t.trx_state = 'LOCK WAIT' AND p.DB = ?",
        [name],
      )) as [Array<{ n: number | string }>])[0][0]!.n,
    ) > 0;
  await waitFor('the save waiting on the lease row', waiting, 30_000, 50);
  const now = new Date();
  const rivalInsert = rival('recon_finding').insert({ rule: 'probe', severity: 'INFO', entity: ENTITY, detail: 'rival', first_seen: now, last_seen: now });
  // The save was the victim: the rival's insert went through once the save rolled back.
  await rivalInsert;
  await rival.rollback();

  const result = await run;
  expect(result.rules.map((x) => [x.rule, x.ok, x.found, x.opened])).toEqual([['probe', true, 1, 1]]);
  expect((await listFindings(db, { all: true })).map((f) => [f.rule, f.entity, f.detail, f.resolvedAt])).toEqual([['probe', ENTITY, 'found', null]]);
}, 60_000);
