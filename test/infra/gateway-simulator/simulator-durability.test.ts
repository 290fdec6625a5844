import fs from 'node:fs';
import path from 'node:path';
import { GatewayJournalCorruptError } from '../../../infra/stack-errors';
import type { SubmitOutcome } from '../../../runtime/gateway/gateway-client';
import { ExecutionJournal, JOURNAL_FILE } from '../../../infra/gateway-simulator/execution-journal';
import { getJson, payout, useGatewayHarness } from '../../fixtures/gateway-harness';

/**
 * The simulator's journal is its system of record: whatever it acknowledged survives kill -9,
 * and a key re-sent after a restart is answered from the journal, never executed again.
 */

const h = useGatewayHarness();

interface Stats {
  executions: number;
  refusedDuplicates: number;
  maxExecutionsPerKey: number;
  journalRecords: number;
}

describe('gateway simulator: durability', () => {
  it('answers keys re-sent after kill -9 and a restart from the journal, without executing them again', async () => {
    const dir = h.tempDir();
    const first = await h.spawn(dir);
    const client = h.client({ baseUrl: first.url, maxSockets: 20, maxFreeSockets: 20 });
    const keys = Array.from({ length: 200 }, (_, i) => `po-durable-${i}`);
    const before = await Promise.all(keys.map((k, i) => client.submit(k, payout(100 + i))));
    expect(before.every((o) => o.kind === 'executed')).toBe(true);

    first.proc.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');

    const second = await h.spawn(dir, first.port);
    expect(second.output()).toContain('records=200');
    const again = h.client({ baseUrl: second.url, maxSockets: 20, maxFreeSockets: 20 });
    const after = await Promise.all(keys.map((k, i) => again.submit(k, payout(100 + i))));
    expect(after).toEqual(before.map((o) => ({ ...o, replayed: true })));

    const stats = (await getJson<Stats>(`${second.url}/_sim/stats`)).body;
    expect(stats).toMatchObject({
      executions: 0,
      refusedDuplicates: 200,
      maxExecutionsPerKey: 1,
      journalRecords: 200,
    });
    expect(
      (await getJson<{ count: number }>(`${second.url}/_sim/executions/po-durable-7/count`)).body
        .count,
    ).toBe(1);
  });

  it('loses no acknowledged execution when killed -9 under load', async () => {
    const dir = h.tempDir();
    const first = await h.spawn(dir);
    const client = h.client({
      baseUrl: first.url,
      maxSockets: 32,
      maxFreeSockets: 32,
      responseTimeoutMs: 3000,
    });
    const acknowledged = new Map<string, SubmitOutcome>();
    let next = 0;
    let stop = false;
    const workers = Array.from({ length: 32 }, async () => {
      while (!stop) {
        const i = next++;
        const outcome = await client.submit(`po-load-${i}`, payout(10_000 + i));
        if (outcome.kind === 'executed') acknowledged.set(`po-load-${i}`, outcome);
        else stop = true;
      }
    });
    const killer = (async () => {
      while (acknowledged.size < 500) await new Promise((r) => setTimeout(r, 5));
      first.proc.kill('SIGKILL');
    })();
    await Promise.all([...workers, killer]);
    await first.exited;
    expect(acknowledged.size).toBeGreaterThanOrEqual(500);

    const second = await h.spawn(dir, first.port);
    const again = h.client({ baseUrl: second.url, maxSockets: 32, maxFreeSockets: 32 });
    const attempted = next;
    for (const [key, outcome] of acknowledged) {
      expect(await again.lookup(key)).toEqual({ ...outcome, replayed: false });
    }
    // Re-send every key that was attempted, acknowledged or not: none may execute twice.
    await Promise.all(
      Array.from({ length: attempted }, (_, i) => again.submit(`po-load-${i}`, payout(10_000 + i))),
    );
    const stats = (await getJson<Stats>(`${second.url}/_sim/stats`)).body;
    expect(stats.maxExecutionsPerKey).toBe(1);
    expect(stats.journalRecords).toBe(attempted);
  });

  it('cuts a write torn by a crash off the tail and keeps numbering after the last whole record', async () => {
    const { sim, dir } = await h.simulator();
    const client = h.client({
      baseUrl: `http://127.0.0.1:${(sim.app.server.address() as { port: number }).port}`,
    });
    await client.submit('po-torn-1', payout(1));
    await client.submit('po-torn-2', payout(2));
    await sim.close();
    const file = path.join(dir, JOURNAL_FILE);
    fs.appendFileSync(file, '{"v":1,"seq":3,"key":"po-to');

    const journal = await ExecutionJournal.open(dir);
    try {
      expect(journal.size).toBe(2);
      expect(fs.readFileSync(file, 'utf8').endsWith('}\n')).toBe(true);
      const record = await journal.append({ ...journal.get('po-torn-2')!, key: 'po-torn-3' });
      expect(record.seq).toBe(3);
    } finally {
      await journal.close();
    }
    expect(fs.readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(3);
  });

  it('refuses to start on a damaged record before the tail, exiting 1 with the line named', async () => {
    const { sim, dir } = await h.simulator();
    await sim.journal.append({
      key: 'po-a',
      fp: 'x',
      payout_id: '652024209997893632',
      shop_user_id: '1',
      currency: 'SGD',
      amount_minor: '5',
      account: 'A',
      status: 'EXECUTED',
    });
    await sim.journal.append({
      key: 'po-b',
      fp: 'y',
      payout_id: '652024209997893633',
      shop_user_id: '1',
      currency: 'SGD',
      amount_minor: '5',
      account: 'A',
      status: 'EXECUTED',
    });
    await sim.close();
    const file = path.join(dir, JOURNAL_FILE);
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    lines[0] = lines[0]!.slice(0, 20);
    fs.writeFileSync(file, lines.join('\n'));

    await expect(ExecutionJournal.open(dir)).rejects.toBeInstanceOf(GatewayJournalCorruptError);
    const child = await h.spawn(dir).catch((e: Error) => e);
    expect(child).toBeInstanceOf(Error);
    expect((child as Error).message).toMatch(/exited with 1/);
    expect((child as Error).message).toContain('STS_GATEWAY_JOURNAL_CORRUPT');
    expect((child as Error).message).toContain('line 1');
  });

  it('commits concurrent appends together: fewer fsync rounds than requests, every record on disk', async () => {
    const { sim, url, dir } = await h.simulator();
    const client = h.client({ baseUrl: url, maxSockets: 64, maxFreeSockets: 64 });
    const outcomes = await Promise.all(
      Array.from({ length: 400 }, (_, i) => client.submit(`po-group-${i}`, payout(20_000 + i))),
    );
    expect(outcomes.every((o) => o.kind === 'executed')).toBe(true);
    expect(sim.journal.commits.maxBatch).toBeGreaterThan(1);
    expect(sim.journal.commits.rounds).toBeLessThan(400);
    expect(fs.readFileSync(path.join(dir, JOURNAL_FILE), 'utf8').trim().split('\n')).toHaveLength(
      400,
    );
  });
});
