import fs from 'node:fs';
import path from 'node:path';
import {
  dropFile,
  getJson,
  pain001,
  readInbound,
  reportsFor,
  sleep,
  useBankHarness,
  waitForReports,
} from '../../fixtures/bank-harness';

/**
 * The simulator's journal is the bank's memory: killed -9 anywhere, restarted, it finishes what
 * it had accepted, writes the reports it owed (with the MsgIds and bytes it had assigned) and
 * never executes a transfer twice.
 */

const h = useBankHarness();

interface Stats {
  filesReceived: number;
  transfersExecuted: number;
  reportsWritten: number;
  maxExecutionsPerEndToEndId: number;
  journal: { files: number; executions: number; reports: number };
}

interface Files {
  count: number;
  files: Array<{ msgId: string; status: string; receivedAs: string; written: string[] }>;
}

const journalFile = (dir: string) => path.join(dir, 'journal.jsonl');

describe('bank simulator: durability', () => {
  it('writes the final report after kill -9 between ACCP and the delayed final, executing nothing twice', async () => {
    const d = h.dirs();
    const first = await h.spawn(d, { faults: { reportDelayMs: 4000 } });
    const transfers = [
      { endToEndId: 'K-E2E-1', amount: '100.00' },
      { endToEndId: 'K-E2E-2', amount: '200.00' },
      { endToEndId: 'K-E2E-3', amount: '300.00' },
    ];
    dropFile(d.outbound, 'K-MSG-1.xml', pain001('K-MSG-1', transfers));
    await waitForReports(d.inbound, 'K-MSG-1', (r) => r.accepted !== undefined);
    // Killed once the ACCP is journaled too (a kill between the two is the rewrite test below).
    for (let i = 0; i < 100; i++) {
      const files = await getJson<Files>(`${first.url}/_sim/files?msgId=K-MSG-1`);
      if (files.files[0]?.written.includes('accepted')) break;
      await sleep(20);
    }
    first.proc.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const atKill = reportsFor(d.inbound, 'K-MSG-1');
    expect(atKill.finals).toHaveLength(0);
    expect(atKill.notifications).toHaveLength(0);
    expect(fs.readdirSync(d.outbound)).toEqual([]);

    // Restarted without the delay fault: the delay was fixed with the decision, and is kept.
    const second = await h.spawn(d, { port: first.port });
    const r = await waitForReports(d.inbound, 'K-MSG-1', (x) => x.notifications.length > 0);
    expect(r.statuses.filter((s) => s.groupStatus === 'ACCP')).toHaveLength(1);
    expect(r.finals).toHaveLength(1);
    expect(r.finals[0]!.groupStatus).toBe('ACSC');
    expect(r.finals[0]!.lines.map((l) => l.endToEndId)).toEqual(transfers.map((t) => t.endToEndId));
    expect(r.notifications).toHaveLength(1);
    expect(r.notifications[0]!.entries.map((e) => e.amount)).toEqual(
      transfers.map((t) => t.amount),
    );

    const stats = await getJson<Stats>(`${second.url}/_sim/stats`);
    expect(stats).toMatchObject({
      filesReceived: 0,
      transfersExecuted: 0,
      reportsWritten: 2,
      maxExecutionsPerEndToEndId: 1,
      journal: { files: 1, executions: 3, reports: 3 },
    });
    for (const t of transfers) {
      const ex = await getJson<{ count: number }>(
        `${second.url}/_sim/executions?endToEndId=${t.endToEndId}`,
      );
      expect(ex.count).toBe(1);
    }

    // Re-sending the same file after the restart is a duplicate; report MsgIds keep growing.
    dropFile(d.outbound, 'K-MSG-1.xml', pain001('K-MSG-1', transfers));
    const again = await waitForReports(d.inbound, 'K-MSG-1', (x) => x.finals.length === 2);
    expect(again.finals[1]).toMatchObject({ groupStatus: 'RJCT', groupReason: 'AM05' });
    const ids = readInbound(d.inbound).map((f) => f.msgId!);
    expect(new Set(ids).size).toBe(ids.length);
    expect(again.finals[1]!.msgId > r.notifications[0]!.msgId).toBe(true);
    expect((await getJson<Stats>(`${second.url}/_sim/stats`)).maxExecutionsPerEndToEndId).toBe(1);
  });

  it('executes every transfer exactly once and owes no report when killed -9 again and again under load', async () => {
    const d = h.dirs();
    const msgIds = Array.from({ length: 24 }, (_, i) => `Q-MSG-${String(i).padStart(2, '0')}`);
    const e2e = (m: number, t: number) => `Q-E2E-${m}-${t}`;
    let sim = await h.spawn(d, { pollMs: 5 });
    const port = sim.port;
    for (const [m, msgId] of msgIds.entries()) {
      const transfers = Array.from({ length: 5 }, (_, t) => ({
        endToEndId: e2e(m, t),
        amount: `${m + 1}.0${t}`,
      }));
      dropFile(d.outbound, `${msgId}.xml`, pain001(msgId, transfers));
      if (m % 6 === 5) {
        await sleep(5 + m);
        sim.proc.kill('SIGKILL');
        await sim.exited;
        sim = await h.spawn(d, { port, pollMs: 5 });
      }
    }
    for (const msgId of msgIds)
      await waitForReports(d.inbound, msgId, (x) => x.notifications.length > 0, 30_000);

    const files = await getJson<Files>(`${sim.url}/_sim/files`);
    expect(files.files.map((f) => [f.msgId, f.status]).sort()).toEqual(
      msgIds.map((m) => [m, 'ACCEPTED']),
    );
    const stats = await getJson<Stats>(`${sim.url}/_sim/stats`);
    expect(stats.maxExecutionsPerEndToEndId).toBe(1);
    expect(stats.journal.executions).toBe(msgIds.length * 5);
    const booked = readInbound(d.inbound)
      .filter((f) => f.kind === 'camt.054')
      .flatMap((f) => [...f.text.matchAll(/<EndToEndId>([^<]+)<\/EndToEndId>/g)].map((m) => m[1]));
    expect(booked.sort()).toEqual(
      msgIds.flatMap((_, m) => Array.from({ length: 5 }, (_, t) => e2e(m, t))).sort(),
    );
    expect(fs.readdirSync(d.inbound).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('decides a file moved into received/ by a process killed before deciding it, once', async () => {
    const d = h.dirs();
    const xml = pain001('L-MSG-1', [{ endToEndId: 'L-E2E-1', amount: '9.99' }]);
    // Killed in the middle of a move across file systems: the copy is in received/, the source
    // is still in OUTBOUND. And a report temp file a kill left behind.
    fs.mkdirSync(path.join(d.journal, 'received'), { recursive: true });
    fs.writeFileSync(path.join(d.journal, 'received', '00000007-L-MSG-1.xml'), xml);
    fs.writeFileSync(path.join(d.outbound, 'L-MSG-1.xml'), xml);
    fs.writeFileSync(path.join(d.inbound, '.BANKSIM-00000001.xml.1234.abcd1234.tmp'), '<Doc');

    const sim = await h.spawn(d);
    const r = await waitForReports(d.inbound, 'L-MSG-1', (x) => x.notifications.length > 0);
    expect(r.finals.map((f) => f.groupStatus)).toEqual(['ACSC']);
    expect(fs.readdirSync(d.outbound)).toEqual([]);
    expect(fs.readdirSync(d.inbound).filter((f) => f.startsWith('.'))).toEqual([]);

    dropFile(
      d.outbound,
      'L-MSG-2.xml',
      pain001('L-MSG-2', [{ endToEndId: 'L-E2E-2', amount: '1.00' }]),
    );
    await waitForReports(d.inbound, 'L-MSG-2', (x) => x.notifications.length > 0);
    const files = await getJson<Files>(`${sim.url}/_sim/files`);
    expect(files.files.map((f) => [f.msgId, f.status, f.receivedAs])).toEqual([
      ['L-MSG-1', 'ACCEPTED', '00000007-L-MSG-1.xml'],
      ['L-MSG-2', 'ACCEPTED', '00000008-L-MSG-2.xml'],
    ]);
  });

  it('rewrites a report it wrote but had not journaled, with the same MsgId and bytes', async () => {
    const d = h.dirs();
    const first = await h.spawn(d);
    dropFile(
      d.outbound,
      'N-MSG-1.xml',
      pain001('N-MSG-1', [
        { endToEndId: 'N-E2E-1', amount: '1.00' },
        { endToEndId: 'N-E2E-2', amount: '2.00', account: 'INVALID-9' },
      ]),
    );
    const r = await waitForReports(d.inbound, 'N-MSG-1', (x) => x.notifications.length > 0);
    first.proc.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);

    // As if killed after writing the final pain.002 and the camt.054 but before journaling them;
    // the marketplace had already taken the pain.002 away.
    const finalFile = path.join(d.inbound, r.finals[0]!.file);
    const camtFile = path.join(d.inbound, r.notifications[0]!.file);
    const [finalBytes, camtBytes] = [fs.readFileSync(finalFile), fs.readFileSync(camtFile)];
    fs.rmSync(finalFile);
    const lines = fs.readFileSync(journalFile(d.journal), 'utf8').trimEnd().split('\n');
    expect(lines.slice(-2).map((l) => (JSON.parse(l) as { kind: string }).kind)).toEqual([
      'status',
      'notification',
    ]);
    fs.writeFileSync(journalFile(d.journal), `${lines.slice(0, -2).join('\n')}\n`);

    const second = await h.spawn(d);
    const again = await waitForReports(d.inbound, 'N-MSG-1', (x) => x.finals.length > 0);
    expect(fs.readFileSync(finalFile).equals(finalBytes)).toBe(true);
    expect(fs.readFileSync(camtFile).equals(camtBytes)).toBe(true);
    expect(again.finals).toHaveLength(1);
    const stats = await getJson<Stats>(`${second.url}/_sim/stats`);
    expect(stats).toMatchObject({
      transfersExecuted: 0,
      reportsWritten: 2,
      maxExecutionsPerEndToEndId: 1,
    });
    expect(stats.journal).toMatchObject({ files: 1, executions: 1, reports: 3 });
  });

  it('cuts a torn last line and refuses to start on a damaged line before it (exit 1)', async () => {
    const d = h.dirs();
    const first = await h.spawn(d);
    dropFile(
      d.outbound,
      'P-MSG-1.xml',
      pain001('P-MSG-1', [{ endToEndId: 'P-E2E-1', amount: '1.00' }]),
    );
    await waitForReports(d.inbound, 'P-MSG-1', (x) => x.notifications.length > 0);
    first.proc.kill('SIGKILL');
    await first.exited;
    const file = journalFile(d.journal);
    const whole = fs.readFileSync(file, 'utf8');
    fs.appendFileSync(file, '{"v":1,"seq":5,"type":"file","msgId":"P-MSG-2","rece');

    const second = await h.spawn(d);
    expect(second.output()).toContain('files=1');
    expect(fs.readFileSync(file, 'utf8')).toBe(whole);
    second.proc.kill('SIGKILL');
    await second.exited;

    const lines = whole.split('\n');
    lines[0] = lines[0]!.slice(0, 30);
    fs.writeFileSync(file, lines.join('\n'));
    const err = await h.spawn(d).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/exited with 1/);
    expect((err as Error).message).toContain('STS_BANK_JOURNAL_CORRUPT');
    expect((err as Error).message).toContain('line 1');
  });
});
