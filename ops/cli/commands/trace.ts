import type { Command } from 'commander';
import { loadConfig } from '../../../runtime/config';
import { ConfigError } from '../../../runtime/errors';
import { createAppContext } from '../../../services/run/app-context';
import { traceOf } from '../../../services/trace/trace-assembler';
import type { TraceQuery } from '../../../services/trace/trace-types';
import { toJson } from '../output';
import { traceTimeline } from '../trace-timeline';

/**
 * "Why was this seller paid this much?" in one place (services/trace/):
 *   `sts trace payout ID [--json]`
 *   `sts trace seller ID [--region R] [--cycle C] [--json]`
 *   `sts trace order ID [--json]`
 *   `sts trace ref REF [--json]`   an event id, external_ref or other item key; any id; a gateway reference
 * An unknown id is STS_NOT_FOUND, exit 1. Read-only.
 */
export function registerTraceCommands(program: Command): void {
  const trace = program
    .command('trace')
    .description('what came in, what was booked, what the close made, how it was paid, and what touched it');

  const run = async (q: TraceQuery, json: boolean | undefined) => {
    const ctx = createAppContext(loadConfig(), 'sts-trace', { logLevel: 'warn', pool: 2 });
    try {
      const result = await traceOf(ctx.db, q);
      process.stdout.write(json ? `${toJson({ ok: true, ...result })}\n` : `${traceTimeline(result)}\n`);
    } finally {
      await ctx.close();
    }
  };

  trace
    .command('payout')
    .description('one payout: its items and their sources, the close, the payment and the ledger')
    .argument('<id>', 'the payout id')
    .option('--json', 'machine-readable trace; ids and amounts (minor units) as decimal strings')
    .action((id: string, opts: { json?: boolean }) => run({ kind: 'payout', id }, opts.json));

  trace
    .command('seller')
    .description("one cycle of a seller: by default the latest with a payout, else the latest")
    .argument('<id>', 'the seller (shop_user_id)')
    .option('--region <region>', "only this region (default: the region of the seller's latest cycle)")
    .option('--cycle <cycle>', 'this cycle (YYYYMMDD of its start)')
    .option('--json', 'machine-readable trace; ids and amounts (minor units) as decimal strings')
    .action((id: string, opts: { region?: string; cycle?: string; json?: boolean }) => {
      if (opts.cycle !== undefined && !/^[0-9]{8}$/.test(opts.cycle)) throw new ConfigError(`--cycle ${opts.cycle} is not a cycle id`, 'for example --cycle 20261116');
      return run({ kind: 'seller', id, region: opts.region, cycleId: opts.cycle === undefined ? undefined : BigInt(opts.cycle) }, opts.json);
    });

  trace
    .command('order')
    .description("one order: its events, commission and clawbacks, and the payouts its items went into")
    .argument('<id>', 'the order id')
    .option('--json', 'machine-readable trace; ids and amounts (minor units) as decimal strings')
    .action((id: string, opts: { json?: boolean }) => run({ kind: 'order', id }, opts.json));

  trace
    .command('ref')
    .description("whatever was typed: an item's key (event id, external_ref), else a payout, order or seller id, else a gateway transfer reference")
    .argument('<ref>', 'the reference')
    .option('--json', 'machine-readable trace; ids and amounts (minor units) as decimal strings')
    .action((ref: string, opts: { json?: boolean }) => run({ kind: 'ref', id: ref }, opts.json));
}
