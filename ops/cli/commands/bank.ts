import type { Command } from 'commander';
import { loadConfig } from '../../../runtime/config';
import { ConfigError } from '../../../runtime/errors';
import { formatMoneyText } from '../../../runtime/money/money-text';
import { ingestBankReports } from '../../../settlement/bank-file/bank-status-ingest';
import { sendBankFiles } from '../../../settlement/bank-file/bank-sender';
import { BankRailWorker } from '../../../settlement/bank-file/bank-rail-worker';
import { installShutdown } from '../../../runtime/processor/shutdown';
import { createAppContext } from '../../../services/run/app-context';
import { auditCli } from '../../api/audit';
import { table, toJson } from '../output';

/**
 * The bank-file rail by hand (`sts run all` does both on its own, every few seconds):
 * `sts bank send [--region R] [--until write|submit] [--json]`   PENDING bank-file payouts into
 *    verified pain.001 files, their money TRIED, the files put in STS_BANK_OUTBOUND_DIR
 * `sts bank ingest [--json]`   apply the pain.002 and camt.054 reports in STS_BANK_INBOUND_DIR
 * `sts bank files [--status S] [--json]`   the files sent, with the bank's last status
 * `sts bank run`   both, every STS_BANK_POLL_MS, until SIGTERM (the chaos run runs it on its own)
 */
export function registerBankCommands(program: Command): void {
  const bank = program.command('bank').description('the bank-file payout rail: files to the bank, status reports back');

  bank
    .command('send')
    .description('write, verify and transmit pain.001 files for the PENDING payouts of bank-file regions; each payout goes in one file, each file is sent once')
    .option('--region <region>', 'only this region')
    .option('--until <step>', 'stop after this step: write (files to review, nothing reserved) or submit (money TRIED, nothing transmitted)')
    .option('--json', 'machine-readable result')
    .action(async (opts: { region?: string; until?: string; json?: boolean }) => {
      if (opts.until !== undefined && opts.until !== 'write' && opts.until !== 'submit') throw new ConfigError(`--until ${opts.until} is not a step`, 'use --until write or --until submit');
      const ctx = createAppContext(loadConfig(), 'sts-bank', { logLevel: 'warn' });
      try {
        const result = await sendBankFiles(
          { db: ctx.db, dataDir: ctx.config.dataDir, payoutFilesDir: ctx.config.payoutFilesDir, outboundDir: ctx.config.bankOutboundDir, environment: ctx.config.environment, logger: ctx.logger },
          { region: opts.region, until: opts.until as 'write' | 'submit' | undefined, onProgress: opts.json ? undefined : (l) => process.stderr.write(`${l}\n`) },
        );
        await auditCli(ctx.db, 'bank.send', opts.region ?? null, result);
        process.stdout.write(opts.json ? `${toJson({ ok: true, ...result })}\n` : `${result.assigned.length} file(s) made, ${result.transmitted.length} transmitted to ${ctx.config.bankOutboundDir}\n`);
      } finally {
        await ctx.close();
      }
    });

  bank
    .command('ingest')
    .description("apply the bank's status reports (pain.002: PAID or FAILED) and debit notifications (camt.054) waiting in STS_BANK_INBOUND_DIR, each exactly once")
    .option('--json', 'machine-readable result')
    .action(async (opts: { json?: boolean }) => {
      const ctx = createAppContext(loadConfig(), 'sts-bank', { logLevel: 'warn' });
      try {
        const result = await ingestBankReports({ db: ctx.db, ids: await ctx.ids(), outbox: ctx.outbox, inboundDir: ctx.config.bankInboundDir, logger: ctx.logger });
        process.stdout.write(opts.json ? `${toJson({ ok: true, ...result })}\n` : `${result.applied.length} report(s) applied, ${result.repeated.length} seen before, ${result.refused.length} unreadable (moved to refused/)\n`);
      } finally {
        await ctx.close();
      }
    });

  bank
    .command('run')
    .description('send and ingest every STS_BANK_POLL_MS until SIGTERM, as `sts run all` does (to run the bank rail as its own process)')
    .action(async () => {
      const ctx = createAppContext(loadConfig(), 'sts-bank');
      const c = ctx.config;
      const worker = new BankRailWorker({ db: ctx.db, ids: await ctx.ids(), outbox: ctx.outbox, dataDir: c.dataDir, payoutFilesDir: c.payoutFilesDir, outboundDir: c.bankOutboundDir, inboundDir: c.bankInboundDir, environment: c.environment, logger: ctx.logger }, c.bankPollMs);
      worker.start();
      ctx.logger.info({ outbound: c.bankOutboundDir, inbound: c.bankInboundDir, everyMs: c.bankPollMs }, 'bank rail running');
      installShutdown([{ stop: async () => (await worker.stop(), await ctx.close()) }], { logger: ctx.logger });
      await new Promise(() => undefined);
    });

  bank
    .command('files')
    .description('the pain.001 files of the bank-file rail, newest first, with their state and the bank\'s last status')
    .option('--status <status>', 'only ASSIGNED, WRITTEN, SUBMITTED or TRANSMITTED')
    .option('--json', 'machine-readable list; amounts in minor units')
    .action(async (opts: { status?: string; json?: boolean }) => {
      const ctx = createAppContext(loadConfig(), 'sts-bank', { logLevel: 'warn', pool: 2 });
      try {
        const q = ctx.db('bank_file').select('msg_id', 'region', 'currency', 'status', 'bank_status', 'tx_count', ctx.db.raw('CAST(ctrl_sum_minor AS CHAR) AS ctrl_sum_minor'), 'transmitted_at').orderBy('created_at', 'desc').limit(200);
        if (opts.status) q.where({ status: opts.status });
        const files = (await q) as Array<Record<string, unknown>>;
        if (opts.json) return void process.stdout.write(`${toJson({ ok: true, files })}\n`);
        const rows = files.map((f) => ({ ...f, total: formatMoneyText(f.ctrl_sum_minor as string, f.currency as string) }));
        process.stdout.write(`${table(rows, ['msg_id', 'region', 'status', 'bank_status', 'tx_count', 'total', 'transmitted_at'])}\n`);
      } finally {
        await ctx.close();
      }
    });
}
