import { ChaosRunError } from './chaos-errors';
import { sleep } from '../../infra/process-control';

/**
 * Polls until `probe` gives a value; errors count as "not yet" (the database may be restarting or
 * failing over). Past the deadline it throws STS_CHAOS_RUN with the last error it saw.
 */
export async function waitUntil<T>(what: string, deadline: number, probe: () => Promise<T | undefined>, intervalMs = 500): Promise<T> {
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    await sleep(intervalMs);
  }
  throw new ChaosRunError(`gave up waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
}
