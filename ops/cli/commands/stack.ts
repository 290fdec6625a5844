import type { Command } from 'commander';
import { loadConfig } from '../../../runtime/config';
import { stackDown, stackStatus } from '../../../infra/stack';
import { pipelineUp } from '../../../services/run/pipeline-up';
import { table, toJson } from '../output';

export function registerStackCommands(program: Command): void {
  program
    .command('up')
    .description('start the local stack (Kafka, schema registry, MariaDB, Redis, gateway simulator), migrate, create topics, register schemas')
    .option('--json', 'machine-readable output')
    .option('--quiet', 'print nothing on success')
    .action(async (opts: { json?: boolean; quiet?: boolean }) => {
      const config = loadConfig();
      const started = Date.now();
      const report = (line: string) => {
        if (!opts.quiet && !opts.json) process.stderr.write(`${line}\n`);
      };
      const components = await pipelineUp(config, report);
      const seconds = (Date.now() - started) / 1000;
      if (opts.json) process.stdout.write(`${toJson({ ok: true, seconds, components })}\n`);
      else if (!opts.quiet) process.stdout.write(`stack up in ${seconds.toFixed(1)}s\n${table(components as never, ['name', 'state', 'address', 'version', 'managed'])}\n`);
    });

  program
    .command('down')
    .description('stop the processes `sts up` started (never a service it found running)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const stopped = await stackDown(loadConfig());
      if (opts.json) process.stdout.write(`${toJson({ ok: true, stopped })}\n`);
      else process.stdout.write(stopped.length ? `stopped: ${stopped.join(', ')}\n` : 'nothing to stop\n');
    });

  program
    .command('status')
    .description('report each component: up or down, version, address, round-trip latency')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const components = await stackStatus(loadConfig());
      const allUp = components.every((c) => c.state === 'up');
      if (opts.json) process.stdout.write(`${toJson({ ok: allUp, components })}\n`);
      else process.stdout.write(`${table(components as never, ['name', 'state', 'address', 'version', 'latencyMs', 'managed', 'pid', 'detail'])}\n`);
      process.exitCode = allUp ? 0 : 3;
    });
}
