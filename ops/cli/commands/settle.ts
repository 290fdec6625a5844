import type { Command } from 'commander';
import { loadConfig } from '../../../runtime/config';
import { ConfigError } from '../../../runtime/errors';
import { formatMoney } from '../../../runtime/money/money-text';
import { closeCycle } from '../../../settlement/cycle-close/close-cycle';
import { createAppContext } from '../../../services/run/app-context';
import { toJson } from '../output';
import { runClosePreview } from './settle-preview';

/** `sts settle close --region R [--cutoff ISO] [--timeout S]`. */
export function registerSettleCommands(program: Command): void {
  const settle = program.command('settle').description('settlement cycles');
  settle
    .command('close')
    .description("close the region's cycle once the watermark is reached; create payouts; write, verify and release the payout files")
    .requiredOption('--region <region>', 'SG, MY, TH, VN, ID, PH, TW or BR')
    .option('--cutoff <iso>', 'the cycle cutoff (Monday 00:00 local, as an ISO instant); default: the latest one that has passed')
    .option('--timeout <seconds>', 'how long to wait for the watermark', '120')
    .option('--drain', 'also wait for everything produced until now, so late-published events of this cycle are paid in it')
    .option('--preview', 'write nothing: show the payouts, totals, carry-forwards and holds the close would make, beside the last closed cycles, with anomalies flagged')
    .option('--json', 'machine-readable summary')
    .action(async (opts: { region: string; cutoff?: string; timeout: string; drain?: boolean; preview?: boolean; json?: boolean }) => {
      const cutoff = opts.cutoff === undefined ? undefined : new Date(opts.cutoff);
      if (cutoff && (Number.isNaN(cutoff.getTime()) || !/(Z|[+-]\d\d:\d\d)$/.test(opts.cutoff!))) {
        throw new ConfigError(`--cutoff ${opts.cutoff} is not an ISO instant with a zone`, 'for example --cutoff 2026-11-22T16:00:00Z');
      }
      if (opts.preview) return runClosePreview(loadConfig(), { region: opts.region, cutoff, json: opts.json });
      const timeout = Number(opts.timeout);
      if (!Number.isFinite(timeout) || timeout <= 0) throw new ConfigError('--timeout must be a positive number of seconds');
      const ctx = createAppContext(loadConfig(), 'sts-settle', { logLevel: 'warn' });
      try {
        const result = await closeCycle(
          { db: ctx.db, kafka: ctx.kafka, ids: await ctx.ids(), outbox: ctx.outbox, dataDir: ctx.config.dataDir, payoutFilesDir: ctx.config.payoutFilesDir, logger: ctx.logger },
          { region: opts.region, cutoff, drainUntil: opts.drain ? new Date() : undefined, watermarkTimeoutMs: timeout * 1000, onProgress: opts.json ? undefined : (l) => process.stderr.write(`${l}\n`) },
        );
        if (opts.json) return void process.stdout.write(`${toJson(result)}\n`);
        process.stdout.write(
          result.alreadyClosed
            ? `cycle ${result.cycleId} of ${result.region} was already closed\n`
            : `cycle ${result.cycleId} of ${result.region} closed: ${result.payoutsCreated} payouts ${JSON.stringify(result.byStatus)}; files: ${result.files.map((f) => `${f.relativePath} (${formatMoney(f.ctrlSumMinor, f.currency)})`).join(', ') || 'none'}\n`,
        );
      } finally {
        await ctx.close();
      }
    });
}
