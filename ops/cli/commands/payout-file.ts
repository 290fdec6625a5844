import type { Command } from 'commander';
import { loadConfig } from '../../../runtime/config';
import { createDb } from '../../../runtime/db/knex';
import { verifyPayoutFile } from '../../../settlement/payout-file/payout-file-verify';
import { table, toJson } from '../output';

interface VerifyOptions {
  json?: boolean;
  /** commander turns --no-db into db: false. */
  db?: boolean;
}

/**
 * `sts payout-file verify FILE`: re-checks a payout file against its manifest and, unless --no-db,
 * the database. Exit 0 when every check passes, 1 listing the failed ones; a file that cannot be
 * read at all is an error (STS_PAYOUT_FILE_UNREADABLE) reported like any other.
 */
export function registerPayoutFileCommands(program: Command): void {
  const payoutFile = program.command('payout-file').description('inspect ISO 20022 payout files');
  payoutFile
    .command('verify')
    .argument('<file>', 'the pain.001 XML; its manifest is <file>.manifest.json')
    .description(
      'recount, resum and checksum a payout file; compare it with its manifest and the database',
    )
    .option('--json', 'print the checks as JSON')
    .option('--no-db', 'skip the database checks (a file away from its database)')
    .action(async (file: string, opts: VerifyOptions) => {
      const db = opts.db === false ? undefined : createDb(loadConfig().mysqlUrl, { pool: 2 });
      try {
        const result = await verifyPayoutFile(file, db);
        if (opts.json) {
          process.stdout.write(`${toJson(result)}\n`);
        } else {
          const failed = result.checks.filter((c) => !c.ok);
          const rows = (failed.length > 0 ? failed : result.checks).map((c) => ({
            check: c.name,
            result: c.ok ? 'ok' : 'FAILED',
            detail: c.detail,
          }));
          const verdict = result.ok
            ? 'ok'
            : `FAILED (${failed.length} of ${result.checks.length} checks)`;
          const scope = db ? '' : ' (database checks skipped: --no-db)';
          process.stdout.write(
            `payout file ${result.file}: ${verdict}${scope}\n${table(rows, ['check', 'result', 'detail'])}\n`,
          );
        }
        if (!result.ok) process.exitCode = 1;
      } finally {
        await db?.destroy();
      }
    });
}
