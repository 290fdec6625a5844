import type { SettledOutcome } from '../../runtime/gateway/gateway-client';

/**
 * The gateway's final answer for a key, as stored in Redis by IdempotencyStore.complete. A worker
 * that finds it (after a crash between the answer and the database write) finalises from it
 * without calling the gateway again. Redis may lose it any time; the gateway replays the same
 * answer for the same key, so the stored copy saves a call, never decides anything new.
 */
export function encodeOutcome(o: SettledOutcome): string {
  return JSON.stringify(
    o.kind === 'executed'
      ? { k: 'executed', ref: o.reference, at: o.executedAt }
      : { k: 'rejected', ref: o.reference, at: o.executedAt, code: o.failureCode },
  );
}

/** The stored answer, or undefined when the value is not one we wrote (then ask the gateway). */
export function decodeOutcome(text: string): SettledOutcome | undefined {
  try {
    const v = JSON.parse(text) as { k?: unknown; ref?: unknown; at?: unknown; code?: unknown };
    if (typeof v.ref !== 'string' || typeof v.at !== 'string') return undefined;
    if (v.k === 'executed')
      return { kind: 'executed', reference: v.ref, executedAt: v.at, replayed: true };
    if (v.k === 'rejected' && typeof v.code === 'string')
      return {
        kind: 'rejected',
        reference: v.ref,
        executedAt: v.at,
        failureCode: v.code,
        replayed: true,
      };
  } catch {
    /* not ours: fall through */
  }
  return undefined;
}
