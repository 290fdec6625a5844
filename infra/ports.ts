import fs from 'node:fs';
import net from 'node:net';
import { sleep } from './process-control';
import { PortInUseError } from './stack-errors';

/** True when something accepts TCP connections on host:port within the timeout. */
export function isPortOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * `n` distinct ports free on 127.0.0.1 right now, for a private component (a scratch broker, a
 * private MariaDB). All are held open together before any is released, so they differ; another
 * process could still take one before the caller binds it, which a start then reports as in use.
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<net.Server>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/**
 * The first of `n` consecutive ports that nothing listens on right now, for a local Kafka cluster:
 * its nodes sit two ports apart, listener and controller side by side (STS_KAFKA_NODES).
 */
export async function freePortRun(n: number): Promise<number> {
  // Below the kernel's ephemeral range (32768 up on Linux): a port checked free there can be taken
  // a moment later as the local end of any outgoing connection, and a broker's bind then fails.
  const below = ephemeralFloor();
  for (let tries = 0; tries < 50; tries++) {
    const base = 20_000 + Math.floor(Math.random() * Math.max(1, (below - 20_000 - n) / 2)) * 2;
    const ports = Array.from({ length: n }, (_, i) => base + i);
    if ((await Promise.all(ports.map((p) => isPortOpen('127.0.0.1', p, 200)))).every((open) => !open)) return base;
  }
  throw new PortInUseError(`a run of ${n} consecutive ports (50 tries from 20000 up)`, 20_000, `free some ports between 20000 and ${below}`);
}

/** The first port of the kernel's ephemeral range (ip_local_port_range); 32768 where unknown. */
function ephemeralFloor(): number {
  try {
    const first = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > 21_000 ? first : 32_768;
  } catch {
    return 32_768;
  }
}

export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

/**
 * Polls `probe` until it returns a value, the deadline passes, or `abort` says to stop (the
 * process we are waiting for died). Never hangs: every path ends by the deadline.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  opts: { timeoutMs: number; intervalMs?: number; abort?: () => string | undefined },
): Promise<{ value?: T; aborted?: string }> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const reason = opts.abort?.();
    if (reason) return { aborted: reason };
    try {
      const value = await probe();
      if (value !== undefined) return { value };
    } catch {
      /* not ready yet */
    }
    if (Date.now() >= deadline) return {};
    await sleep(opts.intervalMs ?? 250);
  }
}

export function parseHostPort(hostPort: string): { host: string; port: number } {
  const i = hostPort.lastIndexOf(':');
  return { host: hostPort.slice(0, i), port: Number(hostPort.slice(i + 1)) };
}
