import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../../runtime/config';
import { ConfigError } from '../../../runtime/errors';
import { pipelineUp } from '../../../services/run/pipeline-up';
import { CHAOS_DEMO_SIZE, CHAOS_SMALL_SIZE, runChaos, type ChaosReport } from '../../../tools/chaos/chaos-run';
import { renderChaosReport } from '../../../tools/chaos/chaos-report';
import { toJson } from '../output';

/**
 * `sts chaos`: the fault-injection run (tools/chaos/chaos-run.ts), N times in a row. Exit code 1 when
 * any run's checks fail; 2 (with STS_CHAOS_RUN) when a run could not be carried out at all.
 */
export function registerChaosCommand(program: Command): void {
  program
    .command('chaos')
    .description('run a demo-sized flow on a private stack while killing processors, the broker and MariaDB, flushing Redis and cutting the gateway; then prove no money was lost or doubled')
    .option('--small', `the size CI runs: ${CHAOS_SMALL_SIZE.orders} orders per region, ${CHAOS_SMALL_SIZE.uploadRows} upload rows`)
    .option('--cluster', 'on a private three-node Kafka cluster with two instances of every processor, adding broker kills (partition leader, active controller), a rolling restart and frozen instances')
    .option('--db-cluster', 'on a private three-node MariaDB Galera cluster behind HAProxy, killing the node HAProxy routes to mid-upload and a standby under the payments, each rejoining by state transfer')
    .option('--runs <n>', 'runs in a row, each on a fresh private stack', '1')
    .option('--seed <n>', 'seed of the first run (later runs add 1); picks the victims and the data', '1')
    .option('--keep', 'leave the private stack running after the (last) run, to inspect it')
    .option('--json', 'machine-readable reports')
    .action(async (opts: { small?: boolean; cluster?: boolean; dbCluster?: boolean; runs: string; seed: string; keep?: boolean; json?: boolean }) => {
      const runs = Number(opts.runs);
      const seed = Number(opts.seed);
      if (!Number.isInteger(runs) || runs < 1) throw new ConfigError('--runs must be a positive whole number');
      if (!Number.isInteger(seed) || seed < 1) throw new ConfigError('--seed must be a positive whole number');
      const config = loadConfig();
      const say = (line: string) => {
        if (!opts.json) process.stderr.write(`${line}\n`);
      };
      // The shared stack provides the schema registry; everything else the run starts privately.
      await pipelineUp(config, say);
      const reports: ChaosReport[] = [];
      for (let i = 0; i < runs; i++) {
        const base = opts.small ? CHAOS_SMALL_SIZE : CHAOS_DEMO_SIZE;
        const report = await runChaos(config, { ...base, cluster: !!opts.cluster, dbCluster: !!opts.dbCluster, seed: seed + i, keep: !!opts.keep && i === runs - 1 }, say);
        fs.writeFileSync(path.join(report.dir, 'report.json'), `${toJson(report)}\n`);
        reports.push(report);
        if (!opts.json) process.stdout.write(renderChaosReport(report, i + 1, runs));
      }
      if (opts.json) process.stdout.write(`${toJson({ ok: reports.every((r) => r.ok), reports })}\n`);
      else process.stdout.write(`${reports.filter((r) => r.ok).length}/${runs} run(s) passed\n`);
      process.exitCode = reports.every((r) => r.ok) ? 0 : 1;
    });
}
