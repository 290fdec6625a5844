import type { Command } from 'commander';
import { loadConfig } from '../../../runtime/config';
import { stackUp } from '../../../infra/stack';
import { runSmokeFlow } from '../../demo/smoke-flow';
import { toJson } from '../output';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('bring the stack up and run the pipeline end to end, with a summary')
    .option('--json', 'machine-readable summary')
    .action(async (opts: { json?: boolean }) => {
      const config = loadConfig();
      const say = (line: string) => {
        if (!opts.json) process.stderr.write(`${line}\n`);
      };
      await stackUp(config, say);
      const r = await runSmokeFlow(config, say);
      if (opts.json) {
        process.stdout.write(`${toJson({ ok: true, ...r })}\n`);
        return;
      }
      process.stdout.write(
        [
          '',
          'demo complete',
          `  order event     ${r.eventId} at sts.order-events.v1[${r.partition}]@${r.offset}`,
          `  billing item    ${r.billingItemId} (seller ${r.shopUserId}, order ${r.orderId})`,
          `  amount          ${r.amountMinor} minor units SGD, cycle ${r.cycleId}`,
          `  seller balance  ${r.sellerBalanceMinor} minor units`,
          `  took            ${r.seconds.toFixed(1)} s`,
          '  look            npx sts status · mysql sts -e "select * from billing_item" · .sts/kafka/server.log',
          '',
        ].join('\n'),
      );
    });
}
