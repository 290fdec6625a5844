import type { Command } from 'commander';
import { loadConfig } from '../../../runtime/config';
import { auditCli } from '../../api/audit';
import { assertFindingTable, listFindings } from '../../../services/recon/finding-store';
import { ReconRunner } from '../../../services/recon/recon-runner';
import type { StoredFinding } from '../../../services/recon/recon-types';
import { RECON_RULES } from '../../../services/recon/rules';
import { createAppContext } from '../../../services/run/app-context';
import { table, toJson } from '../output';

/**
 * `sts recon run [--rule R...] [--json]`   run the rules; exit 1 while CRITICAL findings are open
 * `sts recon list [--all] [--json]`         open findings (--all: resolved ones too)
 * `sts recon fix <rule> <entity> [--json]`  apply the finding's documented fix, then re-check it
 */
export function registerReconCommands(program: Command): void {
  const recon = program
    .command('recon')
    .description('reconciliation: compare source-of-truth data with what was derived from it');

  recon
    .command('run')
    .description(
      `run the reconciliation rules and print the open findings; exit 1 while any is CRITICAL. Rules: ${RECON_RULES.map((r) => r.name).join(', ')}`,
    )
    .option('--rule <name...>', 'run only these rules')
    .option('--json', 'machine-readable result')
    .action(async (opts: { rule?: string[]; json?: boolean }) => {
      await withRunner(async (runner) => {
        const result = await runner.run({ rules: opts.rule });
        if (opts.json)
          process.stdout.write(`${toJson({ ok: result.critical === 0, ...result })}\n`);
        else {
          for (const r of result.rules.filter((x) => !x.ok))
            process.stderr.write(`rule ${r.rule} could not run: ${r.error}\n`);
          // Skipped checks (too little volume or history) are not findings; say so anyway.
          for (const r of result.rules)
            for (const n of r.notes ?? []) process.stdout.write(`rule ${r.rule}: ${n}\n`);
          const opened = result.rules.reduce((n, r) => n + r.opened, 0);
          const resolved = result.rules.reduce((n, r) => n + r.resolved, 0);
          process.stdout.write(
            `${print(result.open)}\n${result.open.length} open finding(s), ${result.critical} CRITICAL; this run opened ${opened} and resolved ${resolved}\n`,
          );
        }
        if (result.critical > 0) process.exitCode = 1;
      });
    });

  recon
    .command('list')
    .description('list the open findings, most severe first')
    .option('--all', 'include resolved findings')
    .option('--rule <name>', 'only this rule')
    .option('--json', 'machine-readable list')
    .action(async (opts: { all?: boolean; rule?: string; json?: boolean }) => {
      const ctx = createAppContext(loadConfig(), 'sts-recon', { logLevel: 'warn', pool: 2 });
      try {
        await assertFindingTable(ctx.db);
        const findings = await listFindings(ctx.db, { all: opts.all, rule: opts.rule });
        process.stdout.write(
          opts.json ? `${toJson({ ok: true, findings })}\n` : `${print(findings, opts.all)}\n`,
        );
      } finally {
        await ctx.close();
      }
    });

  recon
    .command('fix')
    .description(
      'apply the documented fix of an open finding (resync-account, republish-outbox), then re-run its rule',
    )
    .argument('<rule>', "the finding's rule")
    .argument('<entity>', "the finding's entity, as `sts recon list` shows it")
    .option('--json', 'machine-readable result')
    .action(async (rule: string, entity: string, opts: { json?: boolean }) => {
      await withRunner(async (runner, ctx) => {
        const result = await runner.fix(rule, entity, {
          kafka: ctx.kafka,
          actor: `cli:${process.env.USER ?? 'unknown'}`,
        });
        await auditCli(ctx.db, 'recon fix', `${rule} ${entity}`.slice(0, 255), result).catch(
          () => undefined,
        );
        if (opts.json)
          return void process.stdout.write(`${toJson({ ok: result.resolved, ...result })}\n`);
        process.stdout.write(
          `${result.fix}: ${result.summary}\n${result.resolved ? 'the finding is resolved' : `the finding is still open: ${result.finding?.detail}`}\n`,
        );
        if (!result.resolved) process.exitCode = 1;
      });
    });
}

async function withRunner(
  fn: (runner: ReconRunner, ctx: ReturnType<typeof createAppContext>) => Promise<void>,
): Promise<void> {
  const ctx = createAppContext(loadConfig(), 'sts-recon', { logLevel: 'warn', pool: 4 });
  const runner = ReconRunner.fromConfig(ctx.config, { db: ctx.db, logger: ctx.logger });
  try {
    await fn(runner, ctx);
  } finally {
    runner.close();
    await ctx.close();
  }
}

function print(findings: StoredFinding[], withResolved = false): string {
  if (findings.length === 0) return withResolved ? 'no findings' : 'no open findings';
  const rows = findings.map((f) => ({
    severity: f.severity,
    rule: f.rule,
    entity: f.entity,
    fix: f.fix,
    'first seen': f.firstSeen.toISOString(),
    ...(withResolved ? { resolved: f.resolvedAt?.toISOString() } : {}),
    detail: f.detail,
  }));
  return table(rows, [
    'severity',
    'rule',
    'entity',
    'fix',
    'first seen',
    ...(withResolved ? ['resolved'] : []),
    'detail',
  ]);
}
