import { useTestResources } from '../../fixtures/resources';
import { effectSummary, produceEffects } from '../../fixtures/effect-processor';
import { spawnProcessorChild, stopChildren, type RunningChild } from '../../fixtures/child-process';
import {
  committedOffsets,
  effectSetup,
  endOffsets,
  offsetsAtEnd,
  waitFor,
} from '../../fixtures/processor-harness';

/**
 * Zombie fencing (docs/ARCHITECTURE.md, "Scale-out"). Two instances of one processor in one group,
 * each a real OS process. The first is frozen with SIGSTOP in the middle of a transaction, with
 * its effects written and its row locks held, for longer than the session timeout; the group gives
 * its partition to the second. Then it is thawed with SIGCONT and finishes the transaction as if it
 * still owned the partition. The broker must refuse its offset commit, and its effects must add
 * nothing the second instance did not already account for.
 */
const r = useTestResources();
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

/** The child's session timeout (processor-child.ts): a frozen member is dropped after it. */
const SESSION_MS = 6000;

test('an instance frozen past its session timeout and thawed is fenced: its offset commit is refused and its effects are no-ops by key', async () => {
  const N = 300;
  const s = await effectSetup(r, 1);
  const total = await produceEffects(r.kafka, s.codec, s.schemaId, s.topic, 0, N);
  const base = { mysqlUrl: s.url, topic: s.topic, group: s.group, maxRecords: 50 };
  const children: RunningChild[] = [];
  const spawn = (txDelayMs: number) => {
    const child = spawnProcessorChild({ ...base, txDelayMs });
    children.push(child);
    return child;
  };
  try {
    // The zombie-to-be: slow transactions, so it is frozen with one open.
    const zombie = spawn(2500);
    expect(await zombie.waitForLine(/^begin 0 0 50$/)).toBe('begin 0 0 50');
    // Let its inserts land: the frozen transaction then holds their row locks.
    await sleep(400);
    zombie.proc.kill('SIGSTOP');
    const frozenAt = Date.now();

    // The second instance joins; the group waits out the frozen member's session, then hands it
    // the partition. It redoes offsets 0..49, whose rows the frozen transaction has locked.
    const heir = spawn(0);
    expect(await heir.waitForLine(/^ready$/)).toBe('ready');
    expect(await heir.waitForLine(/^begin 0 0 /, 60_000)).toMatch(/^begin 0 0 /);
    // Nothing of the frozen batch is visible yet: its transaction is open.
    expect(await committedOffsets(r.kafka, s.group, s.topic)).toEqual(new Map([[0, -1n]]));
    await sleep(Math.max(0, SESSION_MS + 2000 - (Date.now() - frozenAt)));

    zombie.proc.kill('SIGCONT');
    // It finishes its transaction (its effects commit), then commits offsets as the old member.
    expect(await zombie.waitForLine(/^batch 0 0 50$/, 30_000)).toBe('batch 0 0 50');
    const refused = await zombie.waitForLine(/offset commit refused/, 30_000);
    const entry = JSON.parse(refused!) as { reason: string; partition: number };
    expect(['ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'REBALANCE_IN_PROGRESS']).toContain(
      entry.reason,
    );
    expect(entry.partition).toBe(0);

    // Both instances go on in the group (the thawed one rejoins) until every offset is done.
    await waitFor(
      'every effect and every offset',
      async () =>
        (await effectSummary(s.db)).rows === N && (await offsetsAtEnd(r.kafka, s.group, s.topic)),
      120_000,
      300,
    );
    // Both leave cleanly: SIGTERM finishes the batch in flight and exits 0.
    expect(await stopChildren(children, { expectClean: true })).toEqual(children.map(() => 0));
  } finally {
    await stopChildren(children, { expectClean: false });
  }
  // Exactly once: each key applied once, and the running total counts no amount twice, although
  // two instances each ran a transaction over offsets 0..49.
  expect(await effectSummary(s.db)).toEqual({ rows: N, total, balance: total });
  expect(await committedOffsets(r.kafka, s.group, s.topic)).toEqual(
    await endOffsets(r.kafka, s.topic),
  );
}, 240_000);
