import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { loadConfig } from '../../../runtime/config';
import { StsError } from '../../../runtime/errors';
import {
  bankDown,
  bankPaths,
  bankStatus,
  bankUp,
} from '../../../infra/bank-simulator/stack-component';
import { freePort } from '../../../infra/ports';
import { dropFile, pain001, useBankHarness, waitForReports } from '../../fixtures/bank-harness';

/**
 * `sts up` / `down` / `status` for the bank simulator, against a scratch STS_DATA_DIR, scratch
 * folders and a spare port, so the simulator of the shared stack is never touched.
 */

const h = useBankHarness();

/** A scratch data directory, its own folders and a spare port on loopback. */
async function scratchConfig() {
  const dataDir = h.tempDir();
  return {
    ...loadConfig(),
    dataDir,
    bankUrl: `http://127.0.0.1:${await freePort()}`,
    bankOutboundDir: path.join(dataDir, 'to-bank'),
    bankInboundDir: path.join(dataDir, 'from-bank'),
  };
}

describe('bank simulator in the local stack', () => {
  it('starts detached with a pid file and log, works the configured folders, is adopted on a second up, and stops on down', async () => {
    const config = await scratchConfig();
    const lines: string[] = [];
    try {
      const up = await bankUp(config, (l) => lines.push(l));
      expect(up).toMatchObject({
        name: 'bank-simulator',
        state: 'up',
        managed: true,
        version: '1.0.0',
      });
      expect(up.pid).toBeGreaterThan(0);
      expect(fs.readFileSync(bankPaths(config.dataDir).log, 'utf8')).toContain('listening on');
      expect(lines.join('\n')).toContain(`pid ${up.pid}`);

      dropFile(
        config.bankOutboundDir,
        'S-MSG-1.xml',
        pain001('S-MSG-1', [{ endToEndId: 'S-E2E-1', amount: '1.00' }]),
      );
      const r = await waitForReports(
        config.bankInboundDir,
        'S-MSG-1',
        (x) => x.notifications.length > 0,
      );
      expect(r.finals[0]!.groupStatus).toBe('ACSC');
      expect(fs.existsSync(path.join(bankPaths(config.dataDir).root, 'journal.jsonl'))).toBe(true);

      const again = await bankUp(config, () => undefined);
      expect(again.pid).toBe(up.pid);
    } finally {
      expect(await bankDown(config)).toBe(true);
    }
    expect(await bankStatus(config)).toMatchObject({ state: 'down', managed: false });
    expect(fs.existsSync(bankPaths(config.dataDir).pid)).toBe(false);
  });

  it('waits for its own simulator while it is paused instead of taking it for a stranger on its port', async () => {
    const config = await scratchConfig();
    try {
      const { pid } = await bankUp(config, () => undefined);
      // Paused (SIGSTOP): it holds its port, the kernel accepts connections, /health never answers.
      process.kill(pid!, 'SIGSTOP');
      const resume = setTimeout(() => process.kill(pid!, 'SIGCONT'), 4000);
      const lines: string[] = [];
      try {
        const again = await bankUp(config, (l) => lines.push(l));
        expect(again).toMatchObject({ state: 'up', managed: true, pid });
      } finally {
        clearTimeout(resume);
        process.kill(pid!, 'SIGCONT');
      }
      expect(lines).toEqual([
        `bank: the simulator (pid ${pid}) runs but did not answer /health; waiting for it`,
      ]);
    } finally {
      expect(await bankDown(config)).toBe(true);
    }
  });

  it('refuses a port held by something that is not the simulator, naming the port', async () => {
    const blocker = net.createServer((s) => s.destroy());
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const config = { ...loadConfig(), dataDir: h.tempDir(), bankUrl: `http://127.0.0.1:${port}` };
      const err = await bankUp(config, () => undefined).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StsError);
      expect((err as StsError).code).toBe('STS_PORT_IN_USE');
      expect((err as StsError).message).toContain(`port ${port}`);
    } finally {
      blocker.close();
    }
  });

  it('reports a remote simulator that does not answer as unavailable instead of starting one', async () => {
    const config = {
      ...loadConfig(),
      dataDir: h.tempDir(),
      bankUrl: `http://127.0.0.2:${await freePort()}`,
    };
    const err = await bankUp(config, () => undefined).catch((e: unknown) => e);
    expect((err as StsError).code).toBe('STS_SERVICE_UNAVAILABLE');
    expect(fs.existsSync(bankPaths(config.dataDir).pid)).toBe(false);
  });
});
