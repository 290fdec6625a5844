import type { Command } from 'commander';
import { loadConfig } from '../../../runtime/config';
import { ConfigError } from '../../../runtime/errors';
import { formatMoney } from '../../../runtime/money/money-text';
import { pipelineUp } from '../../../services/run/pipeline-up';
import { DEMO_DEFAULTS, runFullDemo, type DemoSummary } from '../../../tools/demo/full-demo';
import { runSmokeFlow } from '../../../tools/demo/smoke-flow';
import { toJson } from '../output';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('bring the stack up and run the whole pipeline end to end on its own demo database, with a summary')
    .option('--orders <n>', 'completed orders per region', String(DEMO_DEFAULTS.orders))
    .option('--sellers <n>', 'sellers per region', String(DEMO_DEFAULTS.sellers))
    .option('--upload-rows <n>', 'rows in the uploaded billing file', String(DEMO_DEFAULTS.uploadRows))
    .option('--smoke', 'only one order event through the pipeline (seconds, not minutes)')
    .option('--json', 'machine-readable summary')
    .action(async (opts: { orders: string; sellers: string; uploadRows: string; smoke?: boolean; json?: boolean }) => {
      const config = loadConfig();
      const say = (line: string) => {
        if (!opts.json) process.stderr.write(`${line}\n`);
      };
      await pipelineUp(config, say);
      if (opts.smoke) {
        const r = await runSmokeFlow(config, say);
        process.stdout.write(opts.json ? `${toJson({ ok: true, ...r })}\n` : `smoke flow: event ${r.eventId} became billing item ${r.billingItemId} in ${r.seconds.toFixed(1)} s\n`);
        return;
      }
      const n = (name: string, v: string) => {
        const x = Number(v);
        if (!Number.isInteger(x) || x < 1) throw new ConfigError(`--${name} must be a positive whole number`);
        return x;
      };
      const summary = await runFullDemo(config, say, { regions: DEMO_DEFAULTS.regions, orders: n('orders', opts.orders), sellers: n('sellers', opts.sellers), uploadRows: n('upload-rows', opts.uploadRows) });
      process.stdout.write(opts.json ? `${toJson({ ok: true, ...summary })}\n` : render(summary, config.opsPort));
    });
}

function render(s: DemoSummary, opsPort: number): string {
  const lines = [
    '',
    'demo complete',
    `  order events      ${s.events}`,
    `  billing items     ${Object.entries(s.billingItems).map(([k, v]) => `${v} ${k}`).join(', ')}`,
    `  upload            ${s.upload.total} rows: ${s.upload.accepted} accepted, ${s.upload.rejected} rejected, ${s.upload.duplicates} duplicate`,
    ...s.cycles.map((c) => `  closed ${c.region} ${c.cycleId}  ${Object.entries(c.payouts).map(([k, v]) => `${v} ${k}`).join(', ')}`),
    ...Object.entries(s.payments).map(([k, p]) => `  ${k.padEnd(16)}  ${p.count} payouts, ${formatMoney(p.sumMinor, p.currency)}`),
    `  reconciliation    ${s.recon.critical === 0 && !s.recon.bySeverity.WARNING ? 'clean' : 'NOT CLEAN'}: ${Object.entries(s.recon.bySeverity).map(([k, v]) => `${v} ${k}`).join(', ') || 'no findings'} (npx sts recon list)`,
    `  timings (s)       ${Object.entries(s.seconds).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    '  look at',
    ...s.cycles.flatMap((c) => c.files.map((f) => `    ${f}`)),
    `    dashboard: STS_MYSQL_URL=mysql://root@127.0.0.1:3306/${s.database} STS_OPS_TOKENS=<token>:operator npx sts run all, then http://127.0.0.1:${opsPort}/`,
    '',
  ];
  return lines.join('\n');
}
