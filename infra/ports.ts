import net from 'node:net';
import { sleep } from './process-control';

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
