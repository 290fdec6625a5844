import { runCli } from '../fixtures/cli';

interface Status {
  ok: boolean;
  components: Array<{ name: string; state: string; version?: string; address: string; latencyMs?: number; pid?: number }>;
}

describe('local stack', () => {
  it('reports kafka, the registry, mysql, redis and the gateway and bank simulators up with version, address and latency', async () => {
    const res = await runCli(['status', '--json']);
    expect(res.code).toBe(0);
    const status = JSON.parse(res.stdout) as Status;
    expect(status.components.map((c) => c.name).sort()).toEqual(['bank-simulator', 'gateway-simulator', 'kafka', 'mysql', 'redis', 'schema-registry']);
    for (const c of status.components) {
      expect(c.state).toBe('up');
      expect(c.address).toBeTruthy();
      expect(c.version).toMatch(/\d+\.\d+/);
      expect(c.latencyMs).toBeGreaterThanOrEqual(0);
    }
    const kafka = status.components.find((c) => c.name === 'kafka')!;
    expect(kafka.version).toMatch(/^3\.9\./);
  });

  it('treats `up` on a running stack as a no-op that keeps the same processes', async () => {
    const before = JSON.parse((await runCli(['status', '--json'])).stdout) as Status;
    const first = await runCli(['up', '--json']);
    const second = await runCli(['up', '--json']);
    expect(first.code).toBe(0);
    expect(second.code).toBe(0);
    const after = JSON.parse((await runCli(['status', '--json'])).stdout) as Status;
    const pids = (s: Status) => Object.fromEntries(s.components.map((c) => [c.name, c.pid ?? null]));
    expect(pids(after)).toEqual(pids(before));
    expect(JSON.parse(second.stdout).ok).toBe(true);
  });
});
