import { asStsError, ConfigError } from '../runtime/errors';

/**
 * The process scaffolding the simulators' entries share (gateway-simulator/main.ts,
 * bank-simulator/main.ts, whose headers document each process): start, print one ready line,
 * stop on SIGTERM or SIGINT, and the exit codes
 *   0  stopped by a signal once `close` finished
 *   1  could not start or could not close; the cause is printed as `error [CODE]: …` (+ `fix: …`)
 *   2  bad flags or environment (STS_CONFIG_INVALID, or a flag parseArgs refused)
 * The ready line `<name> listening on <url> …` is what `sts up` and the tests wait for.
 */

export interface StartedSimulator {
  /** What the ready line says after "listening on": the base URL, then what the simulator holds. */
  listening: string;
  close(): Promise<void>;
}

export function runSimulator(name: string, start: () => Promise<StartedSimulator>): void {
  serve(name, start).catch((err: unknown) => {
    const e = asStsError(err);
    process.stderr.write(`error [${e.code}]: ${e.message}\n`);
    if (e.fix) process.stderr.write(`fix: ${e.fix}\n`);
    process.exit(
      e instanceof ConfigError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
        ? 2
        : 1,
    );
  });
}

async function serve(name: string, start: () => Promise<StartedSimulator>): Promise<void> {
  const sim = await start();
  process.stdout.write(`${name} listening on ${sim.listening}\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${name} stopping on ${signal}\n`);
    sim.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`error [${asStsError(err).code}]: ${asStsError(err).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
