/**
 * Process entry of the bank simulator: `node -r tsx/cjs infra/bank-simulator/main.ts`.
 * `sts up` starts it detached (stack-component.ts); tests start it directly to kill -9 it.
 *
 * Inputs
 *   env   STS_BANK_URL           its port (and loopback host) is where the control API listens;
 *                                default 7072
 *         STS_BANK_PORT          overrides that port
 *         STS_BANK_OUTBOUND_DIR  the folder pain.001 files are taken from (config.bankOutboundDir)
 *         STS_BANK_INBOUND_DIR   the folder reports are written to (config.bankInboundDir)
 *         STS_DATA_DIR           the journal lives in <STS_DATA_DIR>/bank/journal.jsonl, received
 *                                files in <STS_DATA_DIR>/bank/received/
 *         STS_BANK_FAULTS        JSON fault settings (fault-plan.ts), e.g. {"reportDelayMs":5000}
 *         STS_LOG_LEVEL          pino level of the simulator's own log
 *   flags --port N --host H --outbound DIR --inbound DIR --journal-dir DIR --poll-ms N
 *         --faults JSON                                                   (flags win over env)
 *   files OUTBOUND/*.xml (not starting with '.'): pain.001.001.09, named <MsgId>.xml, placed
 *         atomically (written under a dot name, then renamed or linked); taken oldest first and
 *         moved to <journal-dir>/received/
 * Outputs
 *   INBOUND/BANKSIM-<8 digits>.xml: pain.002.001.10 (ACCP on receipt, then the final status) and
 *   camt.054.001.08 (executed transfers), written atomically; with the duplicateReports fault also
 *   BANKSIM-<8 digits>-copy.xml. HTTP on host:port (server.ts); the journal; once ready, one
 *   stdout line:
 *   `bank-simulator listening on http://H:N files=F journal=FILE outbound=DIR inbound=DIR`
 * Exit codes
 *   0  stopped by SIGTERM or SIGINT after the current poll finished and the journal closed
 *   1  could not start: corrupt journal (STS_BANK_JOURNAL_CORRUPT), unwritable directory,
 *      port taken; the cause is printed as `error [CODE]: …`
 *   2  bad flags or environment (STS_CONFIG_INVALID)
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../runtime/config';
import { ConfigError } from '../../runtime/errors';
import { runSimulator } from '../simulator-main';
import type { FaultPatch } from './fault-plan';
import { createBankSimulator } from './server';

interface StartSpec {
  host: string;
  port: number;
  outboundDir: string;
  inboundDir: string;
  journalDir: string;
  pollMs: number;
  faults: FaultPatch;
}

function readSpec(argv: string[], env: NodeJS.ProcessEnv): StartSpec {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      outbound: { type: 'string' },
      inbound: { type: 'string' },
      'journal-dir': { type: 'string' },
      'poll-ms': { type: 'string' },
      faults: { type: 'string' },
    },
    strict: true,
  });
  const config = loadConfig(env);
  const url = new URL(config.bankUrl);
  const port = Number(values.port ?? env.STS_BANK_PORT ?? (url.port || 7072));
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError(
      `bank simulator port ${String(port)} is not a port number`,
      'pass --port 7072 or set STS_BANK_PORT',
    );
  const pollMs = Number(values['poll-ms'] ?? 200);
  if (!Number.isInteger(pollMs) || pollMs < 1 || pollMs > 60_000)
    throw new ConfigError(
      `--poll-ms ${String(values['poll-ms'])} is not a number of milliseconds from 1 to 60000`,
      'pass --poll-ms 200',
    );
  const host = values.host ?? (url.hostname === 'localhost' ? '127.0.0.1' : url.hostname);
  const faults = {
    ...parseJson(env.STS_BANK_FAULTS, 'STS_BANK_FAULTS'),
    ...parseJson(values.faults, '--faults'),
  };
  return {
    host,
    port,
    outboundDir: path.resolve(values.outbound ?? config.bankOutboundDir),
    inboundDir: path.resolve(values.inbound ?? config.bankInboundDir),
    journalDir: path.resolve(values['journal-dir'] ?? path.join(config.dataDir, 'bank')),
    pollMs,
    faults: faults as FaultPatch,
  };
}

function parseJson(text: string | undefined, what: string): Record<string, unknown> {
  if (text === undefined || text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new ConfigError(
      `${what} is not a JSON object`,
      `set ${what} to a JSON object such as {"reportDelayMs":5000}`,
    );
  return value as Record<string, unknown>;
}

runSimulator('bank-simulator', async () => {
  const spec = readSpec(process.argv.slice(2), process.env);
  const sim = await createBankSimulator({
    outboundDir: spec.outboundDir,
    inboundDir: spec.inboundDir,
    journalDir: spec.journalDir,
    pollMs: spec.pollMs,
    faults: spec.faults,
    logLevel: process.env.STS_LOG_LEVEL ?? 'warn',
  });
  const url = await sim.listen(spec.port, spec.host);
  return {
    listening: `${url} files=${sim.journal.fileCount} journal=${sim.journal.file} outbound=${spec.outboundDir} inbound=${spec.inboundDir}`,
    close: () => sim.close(),
  };
});
