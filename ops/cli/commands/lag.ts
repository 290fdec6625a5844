import type { Command } from 'commander';
import { loadConfig } from '../../../runtime/config';
import { ConfigError } from '../../../runtime/errors';
import { createKafka } from '../../../runtime/kafka/client';
import { createLogger } from '../../../runtime/logger';
import { settlementTopology } from '../../../topologies/settlement';
import { LagMonitor } from '../../../services/lag/lag-monitor';
import { topologyTargets, type LagTarget } from '../../../services/lag/lag-sampler';
import { lagJson, lagTable } from '../../../services/lag/lag-view';
import { toJson } from '../output';

/**
 * `sts lag [--watch] [--json]`: consumer lag of every processor group of the topology, per topic
 * and partition, with lag in messages and seconds, consumption rate, ETA and a status.
 *
 * Without --watch it samples twice, --interval apart, so rates and ETA come from a real
 * difference rather than a guess; STALLED and WARNING need a longer window and show up in
 * --watch (or GET /lag of a running `sts run all`). --watch redraws every --interval; with --json
 * it prints one report per line. Alerting is not done here: that is the long-running monitor's.
 */
interface LagOptions {
  watch?: boolean;
  json?: boolean;
  interval: string;
  target: string[];
}

export function registerLagCommand(program: Command): void {
  program
    .command('lag')
    .description(
      'consumer lag per group, topic and partition: lag, seconds behind, rate, ETA, status',
    )
    .option('--watch', 'keep sampling and redraw every --interval')
    .option('--json', 'machine-readable output (with --watch: one JSON report per line)')
    .option('--interval <ms>', 'time between samples', '2000')
    .option(
      '--target <group:topic>',
      'also watch this group on this topic (repeatable)',
      collect,
      [],
    )
    .action(async (opts: LagOptions) => {
      const intervalMs = Number(opts.interval);
      if (!Number.isInteger(intervalMs) || intervalMs < 100)
        throw new ConfigError(
          `--interval ${opts.interval} is not a whole number of milliseconds >= 100`,
          'for example --interval 2000',
        );
      const config = loadConfig();
      const targets = [...topologyTargets(settlementTopology), ...opts.target.map(parseTarget)];
      const monitor = new LagMonitor(
        { kafka: createKafka(config, 'sts-lag'), logger: createLogger('sts-lag', 'warn') },
        targets,
        { intervalMs },
      );
      try {
        await monitor.sampleOnce();
        await sleep(intervalMs);
        let report = await monitor.sampleOnce();
        if (!opts.watch)
          return void process.stdout.write(
            opts.json ? `${toJson(lagJson(report))}\n` : lagTable(report),
          );
        const tty = !opts.json && process.stdout.isTTY === true;
        let stopped = false;
        process.once('SIGINT', () => (stopped = true));
        process.once('SIGTERM', () => (stopped = true));
        while (!stopped) {
          if (opts.json)
            process.stdout.write(
              `${JSON.stringify(lagJson(report), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`,
            );
          // Clear and home the cursor, so the table redraws in place instead of scrolling.
          else process.stdout.write(`${tty ? '\u001b[2J\u001b[H' : '\n'}${lagTable(report)}`);
          await sleep(intervalMs);
          if (!stopped) report = await monitor.sampleOnce();
        }
      } finally {
        await monitor.stop();
      }
    });
}

/** "group:topic"; split at the last colon, since a group id may contain one and a topic cannot. */
function parseTarget(spec: string): LagTarget {
  const i = spec.lastIndexOf(':');
  const target = { group: spec.slice(0, i), topic: spec.slice(i + 1) };
  if (i <= 0 || !/^[a-zA-Z0-9._-]{1,249}$/.test(target.topic))
    throw new ConfigError(
      `--target ${spec} is not group:topic`,
      'for example --target sts.commission:sts.commission-requests.v1',
    );
  return target;
}

const collect = (value: string, previous: string[]) => [...previous, value];
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
