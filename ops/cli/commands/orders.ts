import type { Command } from 'commander';
import { ORDER_EVENTS } from '../../../contracts/order-event';
import { loadConfig } from '../../../runtime/config';
import { ConfigError } from '../../../runtime/errors';
import { regionInfo } from '../../../runtime/money/regions';
import { publishOrderEvents } from '../../../tools/orders/order-publisher';
import { orderStream } from '../../../tools/orders/synthetic-orders';
import { createAppContext } from '../../../services/run/app-context';
import { toJson } from '../output';

/**
 * `sts orders produce --count N --sellers M --region R [--seed S]`: synthetic upstream order events
 * (completed, refunded, adjusted, some with affiliates) on sts.order-events.v1, as upstream would
 * publish them: Avro through the registry, keyed by seller. The same seed gives the same events.
 */
export function registerOrderCommands(program: Command): void {
  const orders = program.command('orders').description('synthetic upstream order events');
  orders
    .command('produce')
    .description('publish synthetic order events (about 1.15 events per order: refunds and adjustments come on top)')
    .requiredOption('--count <n>', 'completed orders')
    .requiredOption('--region <region>', 'SG, MY, TH, VN, ID, PH, TW or BR')
    .option('--sellers <n>', 'distinct sellers', '1000')
    .option('--seed <n>', 'random seed', '42')
    .option('--topic <topic>', 'topic to publish to', ORDER_EVENTS.topic)
    .option('--json', 'machine-readable summary')
    .action(async (opts: { count: string; region: string; sellers: string; seed: string; topic: string; json?: boolean }) => {
      const int = (name: string, v: string, min: number) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < min) throw new ConfigError(`--${name} must be a whole number of at least ${min}`);
        return n;
      };
      const region = opts.region.toUpperCase();
      if (!regionInfo(region)) throw new ConfigError(`unknown region ${opts.region}`, 'use one of SG, MY, TH, VN, ID, PH, TW, BR');
      const seed = int('seed', opts.seed, 0);
      const events = orderStream({ orders: int('count', opts.count, 1), sellers: int('sellers', opts.sellers, 1), region, seed, prefix: `synthetic-${region}-${seed}`, occurredAt: () => new Date() });
      const ctx = createAppContext(loadConfig(), 'sts-orders', { logLevel: 'warn' });
      const started = Date.now();
      try {
        await publishOrderEvents(ctx, opts.topic, events);
      } finally {
        await ctx.close();
      }
      const summary = { topic: opts.topic, region, events: events.length, firstEventId: events[0]?.event_id, seconds: (Date.now() - started) / 1000 };
      process.stdout.write(opts.json ? `${toJson(summary)}\n` : `published ${summary.events} order events for ${region} to ${opts.topic} in ${summary.seconds.toFixed(1)} s\n`);
    });
}
