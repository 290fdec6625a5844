import type { Command } from 'commander';
import { loadConfig } from '../../../runtime/config';
import { ConfigError } from '../../../runtime/errors';
import { formatMoney } from '../../../runtime/money/money-text';
import {
  cancelPayout,
  listPayouts,
  releasePayout,
  type PayoutView,
} from '../../../services/payouts/payout-holds';
import { createAppContext } from '../../../services/run/app-context';
import { auditCli } from '../../api/audit';
import { table, toJson } from '../output';
import { cliActor, idArg, limitArg } from './payees';

/**
 * `sts payouts list [--status S] [--region R] [--cycle C] [--limit N] [--json]`
 * `sts payouts release ID [--json]`   pay a held payout to the seller's current payee account
 * `sts payouts cancel ID [--json]`    never pay it; its amount returns to the seller's balance
 *
 * The CLI is run by someone with the database's credentials, so it does not apply the four-eyes
 * rule the ops API applies to releases (an operator other than the one who changed the account):
 * whoever runs it is trusted as the second pair of eyes, and the audit row names them.
 */
export function registerPayoutCommands(program: Command): void {
  const payouts = program
    .command('payouts')
    .description('payouts of closed cycles; release or cancel the ones the close held (ON_HOLD)');

  payouts
    .command('list')
    .description('payouts in id order, amounts in major units, with why a held one waits')
    .option(
      '--status <status>',
      'only this status, e.g. ON_HOLD, PENDING, SUBMITTED, PAID, FAILED, CANCELLED',
    )
    .option('--region <region>', 'only this region')
    .option('--cycle <cycle>', 'only this cycle (YYYYMMDD of its start)')
    .option('--after <id>', 'start after this payout id (the last one of the previous page)')
    .option('--limit <n>', 'at most this many payouts (1 to 10000)', '100')
    .option('--json', 'machine-readable list; amounts in minor units, as decimal strings')
    .action(
      async (opts: {
        status?: string;
        region?: string;
        cycle?: string;
        after?: string;
        limit: string;
        json?: boolean;
      }) => {
        if (opts.cycle !== undefined && !/^[0-9]{8}$/.test(opts.cycle))
          throw new ConfigError(
            `--cycle ${opts.cycle} is not a cycle id`,
            'for example --cycle 20261116',
          );
        const query = {
          status: opts.status,
          region: opts.region,
          cycleId: opts.cycle === undefined ? undefined : BigInt(opts.cycle),
          afterId:
            opts.after === undefined
              ? undefined
              : idArg(opts.after, '--after', 'sts payouts list --after 652024209997893632'),
          limit: limitArg(opts.limit),
        };
        const ctx = createAppContext(loadConfig(), 'sts-payouts', { logLevel: 'warn', pool: 2 });
        try {
          const found = await listPayouts(ctx.db, query);
          if (opts.json)
            return void process.stdout.write(`${toJson({ ok: true, payouts: found })}\n`);
          process.stdout.write(found.length === 0 ? 'no payouts\n' : `${print(found)}\n`);
        } finally {
          await ctx.close();
        }
      },
    );

  payouts
    .command('release')
    .description(
      "release a held payout: it becomes PENDING, to be paid to the seller's current payee account",
    )
    .argument('<id>', 'the payout id')
    .option('--json', 'machine-readable result')
    .action(async (id: string, opts: { json?: boolean }) => {
      const payoutId = idArg(id, 'payout id', 'sts payouts release 652024209997893632');
      const ctx = createAppContext(loadConfig(), 'sts-payouts', { logLevel: 'warn', pool: 2 });
      try {
        const { payout, payee } = await releasePayout(
          { db: ctx.db, outbox: ctx.outbox },
          payoutId,
          { name: cliActor(), fourEyes: false },
        );
        await audit(ctx.db, 'payout.release', payoutId, {
          holdReason: payout.holdReason,
          payeeAccountId: payee.id,
          payeeVersion: payee.version,
        });
        if (opts.json) return void process.stdout.write(`${toJson({ ok: true, payout, payee })}\n`);
        process.stdout.write(
          `payout ${payout.id} released (it was held for ${payout.holdReason ?? 'no recorded reason'}): ${amount(payout)} to ${payee.holderName}, ${payee.account} at ${payee.bankId} (payee version ${payee.version}, changed by ${payee.changedBy})\n`,
        );
      } finally {
        await ctx.close();
      }
    });

  payouts
    .command('cancel')
    .description(
      "cancel a held payout: it is never paid, and its amount returns to the seller's balance in the open cycle",
    )
    .argument('<id>', 'the payout id')
    .option('--json', 'machine-readable result')
    .action(async (id: string, opts: { json?: boolean }) => {
      const payoutId = idArg(id, 'payout id', 'sts payouts cancel 652024209997893632');
      const ctx = createAppContext(loadConfig(), 'sts-payouts', { logLevel: 'warn', pool: 2 });
      try {
        const payout = await cancelPayout(
          { db: ctx.db, outbox: ctx.outbox, ids: await ctx.ids() },
          payoutId,
          { name: cliActor(), fourEyes: false },
        );
        await audit(ctx.db, 'payout.cancel', payoutId, {
          holdReason: payout.holdReason,
          amountMinor: payout.amountMinor,
        });
        if (opts.json) return void process.stdout.write(`${toJson({ ok: true, payout })}\n`);
        process.stdout.write(
          `payout ${payout.id} cancelled (it was held for ${payout.holdReason ?? 'no recorded reason'}): ${amount(payout)} returns to seller ${payout.shopUserId}'s balance in the open ${payout.region} cycle\n`,
        );
      } finally {
        await ctx.close();
      }
    });
}

/** The action already happened: a failed audit write is reported, not thrown. */
async function audit(
  db: Parameters<typeof auditCli>[0],
  action: string,
  id: bigint,
  detail: unknown,
) {
  await auditCli(db, action, id.toString(), detail).catch((err: unknown) =>
    process.stderr.write(`warning: the audit row was not written: ${String(err)}\n`),
  );
}

/** "SGD 2,353.79": major units by the currency's ISO 4217 exponent. */
const amount = (p: PayoutView): string => formatMoney(p.amountMinor, p.currency);

function print(payouts: PayoutView[]): string {
  const rows = payouts.map((p) => ({
    id: p.id,
    region: p.region,
    cycle: p.cycleId,
    seller: p.shopUserId,
    amount: amount(p),
    status: p.status,
    rail: p.rail,
    'hold reason': p.holdReason,
    decided: p.holdDecidedBy
      ? `${p.holdDecidedBy} ${p.holdDecidedAt?.toISOString() ?? ''}`.trim()
      : null,
  }));
  return table(rows, [
    'id',
    'region',
    'cycle',
    'seller',
    'amount',
    'status',
    'rail',
    'hold reason',
    'decided',
  ]);
}
