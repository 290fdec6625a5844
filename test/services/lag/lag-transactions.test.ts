import { useTestResources } from '../../fixtures/resources';
import { committedOffsets, waitFor } from '../../fixtures/processor-harness';
import { PartitionReader } from '../../../runtime/kafka/partition-reader';
import { consumeUpTo, groupOf, testMonitor } from '../../fixtures/lag-harness';

/**
 * Transactions leave records on the log that no consumer ever gets: a commit or abort marker per
 * transaction, and the records of aborted ones. A consumer that commits "last record + 1" (the
 * processor runtime, and kafkajs with autoCommit off) leaves its committed offset ON the marker,
 * so "end - committed" shows one message of lag forever on a fully consumed partition. The end
 * must also be the last stable offset: records of an open transaction are not lag yet.
 */
const r = useTestResources();

test('a consumed transaction shows lag 0, not 1; open and aborted transactions are not lag', async () => {
  const topic = await r.topic('lag-txn', 1);
  const group = r.group('lag-txn');
  const producer = r.kafka.producer({
    transactionalId: r.unique('txn'),
    idempotent: true,
    maxInFlightRequests: 1,
  });
  r.defer(() => producer.disconnect());
  await producer.connect();
  const reader = new PartitionReader(r.kafka);
  r.defer(() => reader.close());
  const stable = async () => (await reader.offsets(topic))[0]!.stable;

  const committedTxn = await producer.transaction();
  await committedTxn.send({
    topic,
    messages: [0, 1, 2].map((i) => ({ partition: 0, key: '652024209997893632', value: `c${i}` })),
  });
  await committedTxn.commit();
  // The coordinator writes the marker after EndTxn returns: offsets 0-2 data, 3 the COMMIT marker.
  await waitFor('the commit marker', async () => (await stable()) === 4n, 15_000, 100);

  const open = await producer.transaction();
  await open.send({
    topic,
    messages: [
      { partition: 0, key: '652024209997893632', value: 'open-1' },
      { partition: 0, key: '652024209997893632', value: 'open-2' },
    ],
  });

  const consumer = await consumeUpTo(r, group, topic, 3n);
  r.defer(() => consumer.disconnect());
  expect((await committedOffsets(r.kafka, group, topic)).get(0)).toBe(3n);

  const monitor = testMonitor(r, [{ group, topic }], { intervalMs: 250 });
  const withOpen = groupOf(await monitor.sampleOnce(), group).partitions[0]!;
  // High watermark 6 (two uncommitted records); the last stable offset stops before them.
  expect(withOpen.end).toBe(4n);
  expect(withOpen.end - withOpen.committed!).toBe(1n); // what end-minus-committed would report
  expect(withOpen.lag).toBe(0n);
  expect(withOpen.lagSeconds).toBe(0);

  await open.abort();
  // 4-5 aborted records, 6 the ABORT marker: still nothing to consume.
  await waitFor('the abort marker', async () => (await stable()) === 7n, 15_000, 100);
  const afterAbort = groupOf(await monitor.sampleOnce(), group);
  expect(afterAbort.partitions[0]!.end).toBe(7n);
  expect(afterAbort.lag).toBe(0n);
  expect(afterAbort.status).toBe('OK');

  // A new committed transaction is lag: its record at 7 is the next one the group reads.
  const next = await producer.transaction();
  await next.send({ topic, messages: [{ partition: 0, key: '652024209997893632', value: 'c3' }] });
  await next.commit();
  await waitFor('the second commit marker', async () => (await stable()) === 9n, 15_000, 100);
  const backlog = groupOf(await monitor.sampleOnce(), group).partitions[0]!;
  expect(backlog.nextOffset).toBe(7n);
  // The record and its marker: a backlog's own markers still count, one per transaction.
  expect(backlog.lag).toBe(2n);
  expect(backlog.lagSeconds).toBeGreaterThanOrEqual(0);
  expect(backlog.lagSeconds).toBeLessThan(10);
});
