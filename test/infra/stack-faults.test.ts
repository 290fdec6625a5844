import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fetchWithMaven } from '../../infra/maven';
import { StsError } from '../../runtime/errors';
import { runCli } from '../fixtures/cli';
import { freePort } from '../../infra/ports';

/**
 * Each fault gives a one-line cause, a fix and a non-zero exit within a bounded time. Faults run
 * against a scratch STS_DATA_DIR and spare ports, so the stack other tests use is never touched.
 */

function scratchDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sts-fault-'));
}

function expectOneLineCause(stderr: string, code: string) {
  const lines = stderr.trim().split('\n').filter((l) => l.startsWith('error [') || l.startsWith('fix: '));
  expect(lines[0]).toContain(`error [${code}]`);
  expect(lines[1]).toMatch(/^fix: .+/);
}

describe('stack faults', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('refuses a Kafka port held by another process, naming the port and the fix', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const dir = scratchDir();
      dirs.push(dir);
      const res = await runCli(['up'], { STS_DATA_DIR: dir, STS_KAFKA_BROKERS: `127.0.0.1:${port}` }, 60_000);
      expect(res.code).not.toBe(0);
      expectOneLineCause(res.stderr, 'STS_PORT_IN_USE');
      expect(res.stderr).toContain(`port ${port}`);
    } finally {
      blocker.close();
    }
  });

  it('reports Maven offline with a missing artifact as STS_ARTIFACT_UNAVAILABLE', async () => {
    const dir = scratchDir();
    dirs.push(dir);
    const pom = path.join(dir, 'pom.xml');
    fs.writeFileSync(
      pom,
      `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
       <groupId>sts.test</groupId><artifactId>missing</artifactId><version>1</version><packaging>pom</packaging>
       <dependencies><dependency><groupId>sts.nonexistent</groupId><artifactId>nothing-here</artifactId><version>0.0.1</version></dependency></dependencies>
       </project>`,
    );
    const started = Date.now();
    const err = await fetchWithMaven({ label: 'a missing artifact', pom, outputDir: path.join(dir, 'out'), extraArgs: ['-o'], timeoutMs: 90_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StsError);
    expect((err as StsError).code).toBe('STS_ARTIFACT_UNAVAILABLE');
    expect((err as StsError).message).toMatch(/offline|not found/i);
    expect((err as StsError).fix).toBeTruthy();
    expect(Date.now() - started).toBeLessThan(90_000);
    expect(fs.existsSync(path.join(dir, 'out', '.complete'))).toBe(false);
  });

  it('reports an unreachable MariaDB with the variable to set', async () => {
    const dir = scratchDir();
    dirs.push(dir);
    const port = await freePort();
    // 127.0.0.2 is loopback but not "the local stack", so up must not try to start a server there.
    const res = await runCli(['up'], { STS_DATA_DIR: dir, STS_MYSQL_URL: `mysql://root@127.0.0.2:${port}/sts` }, 60_000);
    expect(res.code).not.toBe(0);
    expectOneLineCause(res.stderr, 'STS_SERVICE_UNAVAILABLE');
    expect(res.stderr).toContain('STS_MYSQL_URL');
  });

  it('reports a broker that fails to start, pointing at its log, without hanging', async () => {
    const dir = scratchDir();
    dirs.push(dir);
    const [port, controller] = [await freePort(), await freePort()];
    const res = await runCli(
      ['up'],
      { STS_DATA_DIR: dir, STS_KAFKA_BROKERS: `127.0.0.1:${port}`, STS_KAFKA_CONTROLLER_PORT: String(controller), STS_KAFKA_HEAP: 'not-a-size' },
      120_000,
    );
    expect(res.code).not.toBe(0);
    expectOneLineCause(res.stderr, 'STS_STARTUP_FAILED');
    expect(res.stderr).toContain(dir);
    expect(fs.existsSync(path.join(dir, 'kafka', 'kafka.pid'))).toBe(false);
  });
});
