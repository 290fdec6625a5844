/**
 * Process entry of the payment gateway simulator: `node -r tsx/cjs infra/gateway-simulator/main.ts`.
 * `sts up` starts it detached (stack-component.ts); tests start it directly to kill -9 it.
 *
 * Inputs
 *   env   STS_GATEWAY_URL   its port (and loopback host) is where the simulator listens; default 7071
 *         STS_GATEWAY_PORT  overrides that port
 *         STS_DATA_DIR      the journal lives in <STS_DATA_DIR>/gateway/executions.jsonl
 *         STS_GATEWAY_FAULTS  JSON fault settings (fault-plan.ts), e.g. {"transientRate":0.1,"seed":7}
 *         STS_LOG_LEVEL     pino level of the simulator's own log
 *   flags --port N --host H --journal-dir DIR --faults JSON --latency-ms N --jitter-ms N
 *         --transient-rate R --timeout-after-execute-rate R --timeout-mode hold|destroy --hold-ms N
 *         --reset-rate R --seed N --reject-account-prefixes A,B   (flags win over env)
 * Outputs
 *   HTTP on host:port (server.ts); the journal; once ready, one stdout line:
 *   `gateway-simulator listening on http://H:N records=R journal=FILE`
 * Exit codes
 *   0  stopped by SIGTERM or SIGINT after in-flight requests were answered and the journal closed
 *   1  could not start: corrupt journal (STS_GATEWAY_JOURNAL_CORRUPT), unwritable directory,
 *      port taken; the cause is printed as `error [CODE]: …`
 *   2  bad flags or environment (STS_CONFIG_INVALID)
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../runtime/config';
import { ConfigError } from '../../runtime/errors';
import { runSimulator } from '../simulator-main';
import type { FaultPatch } from './fault-plan';
import { createGatewaySimulator } from './server';

const NUMERIC_FLAGS = {
  'latency-ms': 'latencyMs',
  'jitter-ms': 'jitterMs',
  'transient-rate': 'transientRate',
  'timeout-after-execute-rate': 'timeoutAfterExecuteRate',
  'hold-ms': 'holdMs',
  'reset-rate': 'resetRate',
  seed: 'seed',
} as const;

interface StartSpec {
  host: string;
  port: number;
  journalDir: string;
  faults: FaultPatch;
}

function readSpec(argv: string[], env: NodeJS.ProcessEnv): StartSpec {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'journal-dir': { type: 'string' },
      faults: { type: 'string' },
      'timeout-mode': { type: 'string' },
      'reject-account-prefixes': { type: 'string' },
      ...Object.fromEntries(
        Object.keys(NUMERIC_FLAGS).map((k) => [k, { type: 'string' as const }]),
      ),
    },
    strict: true,
  });
  const config = loadConfig(env);
  const url = new URL(config.gatewayUrl);
  const port = Number(values.port ?? env.STS_GATEWAY_PORT ?? (url.port || 7071));
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError(
      `gateway simulator port ${String(port)} is not a port number`,
      'pass --port 7071 or set STS_GATEWAY_PORT',
    );
  const host = values.host ?? (url.hostname === 'localhost' ? '127.0.0.1' : url.hostname);

  const faults: Record<string, unknown> = {
    ...parseJson(env.STS_GATEWAY_FAULTS, 'STS_GATEWAY_FAULTS'),
    ...parseJson(values.faults as string | undefined, '--faults'),
  };
  for (const [flag, field] of Object.entries(NUMERIC_FLAGS)) {
    const raw = (values as Record<string, string | undefined>)[flag];
    if (raw === undefined) continue;
    const n = Number(raw);
    if (!Number.isFinite(n))
      throw new ConfigError(`--${flag} ${raw} is not a number`, `pass a number to --${flag}`);
    faults[field] = n;
  }
  if (values['timeout-mode'] !== undefined) faults.timeoutMode = values['timeout-mode'];
  if (values['reject-account-prefixes'] !== undefined)
    faults.rejectAccountPrefixes = (values['reject-account-prefixes'] as string)
      .split(',')
      .filter(Boolean);
  return {
    host,
    port,
    journalDir:
      (values['journal-dir'] as string | undefined) ?? path.join(config.dataDir, 'gateway'),
    faults: faults as FaultPatch,
  };
}

function parseJson(text: string | undefined, what: string): Record<string, unknown> {
  if (text === undefined || text === '') return {};
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new ConfigError(
      `${what} is not valid JSON`,
      `set ${what} to a JSON object such as {"transientRate":0.1}`,
    );
  }
}

runSimulator('gateway-simulator', async () => {
  const spec = readSpec(process.argv.slice(2), process.env);
  const sim = await createGatewaySimulator({
    journalDir: spec.journalDir,
    faults: spec.faults,
    logLevel: process.env.STS_LOG_LEVEL ?? 'warn',
  });
  const url = await sim.listen(spec.port, spec.host);
  return {
    listening: `${url} records=${sim.journal.size} journal=${sim.journal.file}`,
    close: () => sim.close(),
  };
});
