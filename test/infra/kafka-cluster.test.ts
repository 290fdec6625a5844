import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../runtime/config';
import { createKafka } from '../../runtime/kafka/client';
import { describeTopicConfigs, ensureTopicList, replicationDrift, whenKnown } from '../../runtime/kafka/topic-admin';
import { kafkaDown, kafkaStatuses, kafkaUp } from '../../infra/kafka-broker';
import { kafkaNodePaths } from '../../infra/paths';
import { freePortRun } from '../../infra/ports';
import { livePid } from '../../infra/process-control';
import { waitFor } from '../fixtures/processor-harness';
import { createLogger } from '../../runtime/logger';
import { LagMonitor } from '../../services/lag/lag-monitor';
import { lagJson, lagTable } from '../../services/lag/lag-view';

/**
 * STS_KAFKA_NODES=3: three real broker-controller JVMs on loopback forming one KRaft quorum, on a
 * scratch data directory and free ports. Topics get three replicas and min.insync.replicas 2, a
 * topic with fewer is reported as drift, one node killed leaves the cluster writable and shows as
 * down, and `down` stops all three.
 */
test('three nodes form one quorum; topics get 3 replicas and min.insync 2; a node killed shows down and the cluster stays writable', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sts-cluster-'));
  const base = await freePortRun(6);
  // Listeners on base, base+2, base+4; controllers on base+1, base+3, base+5.
  process.env.STS_KAFKA_CONTROLLER_PORT = String(base + 1);
  process.env.STS_KAFKA_HEAP = '384m';
  const config = loadConfig({ ...process.env, STS_DATA_DIR: dir, STS_KAFKA_BROKERS: `127.0.0.1:${base}`, STS_KAFKA_NODES: '3' });
  expect(config.kafkaBrokers).toEqual([`127.0.0.1:${base}`, `127.0.0.1:${base + 2}`, `127.0.0.1:${base + 4}`]);
  const kafka = createKafka(config, 'cluster-test');
  let stopped = false;
  try {
    const up = await kafkaUp(config, () => undefined);
    expect(up).toMatchObject({ state: 'up', brokers: 3 });
    const status = await kafkaStatuses(config);
    expect(status.map((s) => [s.name, s.state])).toEqual([['kafka', 'up'], ['kafka-node-1', 'up'], ['kafka-node-2', 'up'], ['kafka-node-3', 'up']]);
    expect(status[0]!.detail).toMatch(/^3 of 3 nodes up; quorum: leader [123], voters 1,2,3$/);

    await ensureTopicList(kafka, [{ topic: 'cluster.t', numPartitions: 6 }]);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const meta = await whenKnown(() => admin.fetchTopicMetadata({ topics: ['cluster.t'] }));
      expect(meta.topics[0]!.partitions.every((p) => p.replicas.length === 3)).toBe(true);
      const [described] = (await describeTopicConfigs(admin, ['cluster.t'])).resources;
      expect(described!.configEntries.find((c) => c.configName === 'min.insync.replicas')?.configValue).toBe('2');
      // A topic made with one copy, as on a single node, is drift on three.
      await admin.createTopics({ topics: [{ topic: 'cluster.thin', numPartitions: 2, replicationFactor: 1 }], waitForLeaders: false });
      const topology = { name: 't', topics: [{ name: 'cluster.t', partitions: 6, schemaFile: 'x', dlq: false }, { name: 'cluster.thin', partitions: 2, schemaFile: 'x', dlq: false }], processors: [] };
      const want = ['cluster.thin: 1 replica(s), the cluster keeps 3', 'cluster.thin: min.insync.replicas 1, the cluster wants 2'];
      // Each broker learns of a new topic a moment apart; the drift is reported once all have.
      let drift: string[] = [];
      await waitFor('the drift of cluster.thin', async () => ((drift = await replicationDrift(kafka, topology as never)), drift.join('|') === want.join('|')), 20_000, 200);
      expect(drift).toEqual(want);
      // A single-copy topic dies with its node; it has made its point.
      await admin.deleteTopics({ topics: ['cluster.thin'] });
    } finally {
      await admin.disconnect();
    }

    // kill -9 of node 2: it shows down; with two of three in sync, acks=all writes still succeed.
    // Writes keep going while node 2 dies and its leaderships move (its broker session, 9 s):
    // sends over every partition, each acknowledged or failed. Every acknowledged record must be
    // on the topic; only a failed send (its caller would send it again) may have left extra ones.
    const writer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await writer.connect();
    const before = await recordsOn(kafka, 'cluster.t');
    let acknowledged = 0;
    let unsure = 0;
    let writing = true;
    const writes = (async () => {
      for (let i = 0; writing; i++) {
        const messages = Array.from({ length: 60 }, (_, k) => ({ key: `w-${i}-${k}`, value: 'v' }));
        try {
          await writer.send({ topic: 'cluster.t', acks: -1, messages });
          acknowledged += messages.length;
        } catch {
          unsure += messages.length;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await new Promise((r) => setTimeout(r, 1000));
    const pid = livePid(kafkaNodePaths(dir, 2).pid)!;
    process.kill(pid, 'SIGKILL');
    while (livePid(kafkaNodePaths(dir, 2).pid) !== undefined) await new Promise((r) => setTimeout(r, 100));
    const after = await kafkaStatuses(config);
    expect(after.find((s) => s.name === 'kafka-node-2')?.state).toBe('down');
    // The controller moves node 2's leaderships once its broker session expires (KRaft: 9 s).
    const watcher = kafka.admin();
    await watcher.connect();
    try {
      await waitFor('leaders off node 2', async () => {
        const meta = await whenKnown(() => watcher.fetchTopicMetadata({ topics: ['cluster.t'] })).catch(() => undefined);
        return meta !== undefined && meta.topics[0]!.partitions.every((p) => p.leader !== 2 && p.leader >= 0);
      }, 60_000, 500);
    } finally {
      await watcher.disconnect();
    }
    // The lag monitor shows the cluster under the lag: node 2 down, its copies out of sync.
    const monitor = new LagMonitor({ kafka, logger: createLogger('test-cluster-lag', 'error') }, [{ group: 'cluster.g', topic: 'cluster.t' }]);
    try {
      // Each broker's metadata cache learns of the shrunk ISRs on its own, a moment apart, and a
      // sample asks whichever broker answers: sample until the view has converged. The group's
      // offsets come from its coordinator, which may have been node 2: until another node leads
      // its __consumer_offsets partition, the group's sample carries an error and no partitions.
      let report = await monitor.sampleOnce();
      const converged = () => report.cluster?.underReplicated === 6 && report.groups[0]?.error === undefined && (report.groups[0]?.partitions.length ?? 0) > 0;
      await waitFor('the ISRs without node 2 in the lag view, and the group read', async () => ((report = await monitor.sampleOnce()), converged()), 30_000, 250);
      expect(report.cluster).toMatchObject({ offline: 0, underReplicated: 6 });
      expect(report.cluster!.brokers.map((b) => [b.id, b.up])).toEqual([[1, true], [2, false], [3, true]]);
      const json = lagJson(report);
      expect(json.cluster?.down).toEqual([2]);
      const partition = json.groups[0]!.partitions[0]!;
      expect([partition.replicas, partition.isr]).toEqual([[1, 2, 3], [1, 3]]);
      expect(lagTable(report)).toContain('cluster: 3 brokers, 1 down (2); 6 of 6 partitions under-replicated');
      expect(lagTable(report)).toMatch(/1,3 of 1,2,3/);
    } finally {
      await monitor.stop();
    }
    // Node 2 comes back (sts up starts what is missing) and catches up while the writes go on.
    await kafkaUp(config, () => undefined);
    const syncing = kafka.admin();
    await syncing.connect();
    try {
      await waitFor('node 2 back in every ISR', async () => {
        const meta = await whenKnown(() => syncing.fetchTopicMetadata({ topics: ['cluster.t'] })).catch(() => undefined);
        return meta !== undefined && meta.topics[0]!.partitions.every((p) => p.isr.length === 3);
      }, 60_000, 500);
    } finally {
      await syncing.disconnect();
    }
    writing = false;
    await writes;
    await writer.disconnect();
    let written = 0;
    // Counted once every partition answers again (a metadata refresh may lag the moves).
    await waitFor('the records counted', async () => ((written = (await recordsOn(kafka, 'cluster.t').catch(() => -1)) - before), written >= 0), 60_000, 500);
    expect(acknowledged).toBeGreaterThan(0);
    expect({ acknowledgedAllThere: written >= acknowledged, extrasOnlyFromFailedSends: written <= acknowledged + unsure }).toEqual({ acknowledgedAllThere: true, extrasOnlyFromFailedSends: true });
  } finally {
    // Checked after the cleanup, so a failure above is the one reported, not this one.
    stopped = await kafkaDown(config);
    for (const id of [1, 2, 3]) if (livePid(kafkaNodePaths(dir, id).pid) !== undefined) stopped = false;
    delete process.env.STS_KAFKA_CONTROLLER_PORT;
    delete process.env.STS_KAFKA_HEAP;
    fs.rmSync(dir, { recursive: true, force: true });
  }
  // `sts down` stopped all three.
  expect(stopped).toBe(true);
}, 240_000);

/** Records on every partition of the topic: the sum of end minus start offsets. */
async function recordsOn(kafka: ReturnType<typeof createKafka>, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
  } finally {
    await admin.disconnect();
  }
}
