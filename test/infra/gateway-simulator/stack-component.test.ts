import fs from 'node:fs';
import net from 'node:net';
import { loadConfig } from '../../../runtime/config';
import { StsError } from '../../../runtime/errors';
import {
  gatewayDown,
  gatewayPaths,
  gatewayStatus,
  gatewayUp,
} from '../../../infra/gateway-simulator/stack-component';
import { useGatewayHarness } from '../../fixtures/gateway-harness';
import { freePort } from '../../../infra/ports';

/**
 * `sts up` / `down` / `status` for the simulator, run against a scratch STS_DATA_DIR and a spare
 * port so the simulator the rest of the suite uses is never touched.
 */

const h = useGatewayHarness();

describe('gateway simulator in the local stack', () => {
  it('starts detached with a pid file and log, adopts itself on a second up, and stops on down', async () => {
    const dataDir = h.tempDir();
    const config = { ...loadConfig(), dataDir, gatewayUrl: `http://127.0.0.1:${await freePort()}` };
    const lines: string[] = [];
    try {
      const up = await gatewayUp(config, (l) => lines.push(l));
      expect(up).toMatchObject({
        name: 'gateway-simulator',
        state: 'up',
        managed: true,
        version: '1.0.0',
      });
      expect(up.pid).toBeGreaterThan(0);
      expect(fs.readFileSync(gatewayPaths(dataDir).log, 'utf8')).toContain('listening on');
      expect(lines.join('\n')).toContain(`pid ${up.pid}`);

      const again = await gatewayUp(config, () => undefined);
      expect(again.pid).toBe(up.pid);
    } finally {
      expect(await gatewayDown(config)).toBe(true);
    }
    expect(await gatewayStatus(config)).toMatchObject({ state: 'down', managed: false });
    expect(fs.existsSync(gatewayPaths(dataDir).pid)).toBe(false);
  });

  it('refuses a port held by something that is not the simulator, naming the port', async () => {
    const blocker = net.createServer((s) => s.destroy());
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const config = {
        ...loadConfig(),
        dataDir: h.tempDir(),
        gatewayUrl: `http://127.0.0.1:${port}`,
      };
      const err = await gatewayUp(config, () => undefined).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StsError);
      expect((err as StsError).code).toBe('STS_PORT_IN_USE');
      expect((err as StsError).message).toContain(`port ${port}`);
    } finally {
      blocker.close();
    }
  });

  it('reports a remote gateway that does not answer as unavailable instead of starting one', async () => {
    const config = {
      ...loadConfig(),
      dataDir: h.tempDir(),
      gatewayUrl: `http://127.0.0.2:${await freePort()}`,
    };
    const err = await gatewayUp(config, () => undefined).catch((e: unknown) => e);
    expect((err as StsError).code).toBe('STS_SERVICE_UNAVAILABLE');
    expect(fs.existsSync(gatewayPaths(config.dataDir).pid)).toBe(false);
  });
});
