import type { Logger } from '../logger';

export interface Stoppable {
  stop(): Promise<void>;
}

export interface ShutdownOptions {
  logger?: Logger;
  signals?: NodeJS.Signals[];
  /** After this long the process exits 1 anyway: an orchestrator will SIGKILL it soon after. */
  timeoutMs?: number;
  exit?: (code: number) => void;
}

/**
 * On SIGTERM/SIGINT, stops every handle (each finishes its batch in flight, commits, leaves its
 * group) and exits 0; exits 1 if stopping fails or outlasts `timeoutMs`, or on a second signal,
 * because an operator pressing Ctrl-C twice means "now". Returns a function that uninstalls it.
 */
export function installShutdown(handles: Stoppable[], opts: ShutdownOptions = {}): () => void {
  const signals = opts.signals ?? ['SIGTERM', 'SIGINT'];
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let shuttingDown = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      opts.logger?.warn({ signal }, 'second signal; exiting now');
      exit(1);
      return;
    }
    shuttingDown = true;
    opts.logger?.info({ signal, handles: handles.length }, 'shutting down');
    const timer = setTimeout(() => {
      opts.logger?.error({ timeoutMs: opts.timeoutMs ?? 30_000 }, 'shutdown timed out');
      exit(1);
    }, opts.timeoutMs ?? 30_000);
    timer.unref();
    Promise.all(handles.map((h) => h.stop()))
      .then(() => {
        clearTimeout(timer);
        opts.logger?.info('shutdown complete');
        exit(0);
      })
      .catch((err: unknown) => {
        opts.logger?.error({ err }, 'shutdown failed');
        exit(1);
      });
  };
  for (const s of signals) process.on(s, onSignal);
  return () => {
    for (const s of signals) process.off(s, onSignal);
  };
}
