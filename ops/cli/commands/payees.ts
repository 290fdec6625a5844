import type { Command } from 'commander';
import { loadConfig } from '../../../runtime/config';
import { ConfigError } from '../../../runtime/errors';
import {
  listPayees,
  payeeHistory,
  setPayee,
  type PayeeAccount,
} from '../../../runtime/payees/payee-registry';
import { createAppContext } from '../../../services/run/app-context';
import { auditCli } from '../../api/audit';
import { table, toJson } from '../output';

/**
 * `sts payees set --seller ID --currency CUR --name NAME --account ACCOUNT --bank BANK_ID
 *   [--country CC] [--json]`              register or change a seller's payee account
 * `sts payees show --seller ID [--currency CUR] [--json]`   every version, newest first
 * `sts payees list [--currency CUR] [--limit N] [--json]`   current accounts, in seller order
 *
 * A change is checked before it is stored (STS_PAYEE_INVALID says what a bank would refuse), adds a
 * version and never overwrites one, and is named `cli:<user>`: the close holds the next payout of a
 * changed account for STS_PAYEE_COOLOFF_HOURS (PAYEE_CHANGED).
 */
export function registerPayeeCommands(program: Command): void {
  const payees = program
    .command('payees')
    .description(
      "sellers' payee accounts (holder, account, bank) per currency, every version kept",
    );

  payees
    .command('set')
    .description(
      "register or change a seller's payee account for a currency; the same details again change nothing",
    )
    .requiredOption('--seller <id>', 'the seller (shop_user_id)')
    .requiredOption('--currency <currency>', 'SGD, MYR, THB, VND, IDR, PHP, TWD or BRL')
    .requiredOption('--name <name>', "the holder's name, as the bank has it")
    .requiredOption(
      '--account <account>',
      'an IBAN where the country uses them, else the account number',
    )
    .requiredOption('--bank <bankId>', 'a BIC, or the local bank clearing code')
    .option(
      '--country <cc>',
      "the ISO 3166 country of the account's bank; default: the currency's region",
    )
    .option('--json', 'machine-readable result')
    .action(
      async (opts: {
        seller: string;
        currency: string;
        name: string;
        account: string;
        bank: string;
        country?: string;
        json?: boolean;
      }) => {
        const seller = sellerArg(opts.seller);
        const input = {
          currency: opts.currency,
          holderName: opts.name,
          account: opts.account,
          bankId: opts.bank,
          ...(opts.country === undefined ? {} : { country: opts.country }),
        };
        const ctx = createAppContext(loadConfig(), 'sts-payees', { logLevel: 'warn', pool: 2 });
        try {
          const { account, changed } = await setPayee(ctx.db, seller, input, cliActor());
          // The account is stored: a failed audit write must not make the command look failed.
          await auditCli(ctx.db, 'payee.set', seller.toString(), {
            ...input,
            changed,
            payeeAccountId: account.id,
            version: account.version,
          }).catch((err: unknown) =>
            process.stderr.write(`warning: the audit row was not written: ${String(err)}\n`),
          );
          if (opts.json)
            return void process.stdout.write(`${toJson({ ok: true, changed, account })}\n`);
          process.stdout.write(
            changed
              ? `seller ${seller} ${account.currency}: stored as version ${account.version} (id ${account.id})\n${print([account])}\n`
              : `seller ${seller} ${account.currency}: unchanged, version ${account.version} already holds these details\n`,
          );
        } finally {
          await ctx.close();
        }
      },
    );

  payees
    .command('show')
    .description(
      "every version of a seller's payee accounts, newest first; * marks the current one",
    )
    .requiredOption('--seller <id>', 'the seller (shop_user_id)')
    .option('--currency <currency>', 'only this currency')
    .option('--json', 'machine-readable list')
    .action(async (opts: { seller: string; currency?: string; json?: boolean }) => {
      const seller = sellerArg(opts.seller);
      const ctx = createAppContext(loadConfig(), 'sts-payees', { logLevel: 'warn', pool: 2 });
      try {
        const history = await payeeHistory(ctx.db, seller, opts.currency);
        if (opts.json)
          return void process.stdout.write(
            `${toJson({ ok: true, shopUserId: seller, accounts: history.map((a) => ({ ...a, current: a.replacedAt === null })) })}\n`,
          );
        process.stdout.write(
          history.length === 0
            ? `seller ${seller} has no payee account${opts.currency ? ` for ${opts.currency}` : ''}\n`
            : `${print(history, true)}\n`,
        );
      } finally {
        await ctx.close();
      }
    });

  payees
    .command('list')
    .description('current payee accounts, in seller order')
    .option('--currency <currency>', 'only this currency')
    .option('--limit <n>', 'at most this many accounts (1 to 10000)', '100')
    .option('--json', 'machine-readable list')
    .action(async (opts: { currency?: string; limit: string; json?: boolean }) => {
      const limit = limitArg(opts.limit);
      const ctx = createAppContext(loadConfig(), 'sts-payees', { logLevel: 'warn', pool: 2 });
      try {
        const accounts = await listPayees(ctx.db, { currency: opts.currency, limit });
        if (opts.json) return void process.stdout.write(`${toJson({ ok: true, accounts })}\n`);
        process.stdout.write(
          accounts.length === 0 ? 'no payee accounts\n' : `${print(accounts)}\n`,
        );
      } finally {
        await ctx.close();
      }
    });
}

/** Who the CLI acts as: the same name auditCli records. */
export const cliActor = (): string => `cli:${process.env.USER ?? 'unknown'}`;

/**
 * An id the database keeps as BIGINT: 1 to 2^63 - 1, parsed as bigint, never through a number.
 * `what` names it in the error ("--seller", "payout id"), `example` is a command line that works.
 */
export function idArg(text: string, what: string, example: string): bigint {
  const v = text.trim();
  if (!/^[0-9]{1,19}$/.test(v) || BigInt(v) < 1n || BigInt(v) >= 2n ** 63n)
    throw new ConfigError(
      `${what} ${text} is not a positive 64-bit integer`,
      `for example: ${example}`,
    );
  return BigInt(v);
}

const sellerArg = (text: string): bigint =>
  idArg(text, '--seller', 'sts payees show --seller 652024209997893632');

export function limitArg(text: string, max = 10_000): number {
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) < 1 || Number(text) > max)
    throw new ConfigError(
      `--limit ${text} is not a whole number from 1 to ${max}`,
      'for example --limit 100',
    );
  return Number(text);
}

function print(accounts: PayeeAccount[], markCurrent = false): string {
  const rows = accounts.map((a) => ({
    ...(markCurrent ? { current: a.replacedAt === null ? '*' : '' } : {}),
    seller: a.shopUserId,
    currency: a.currency,
    version: a.version,
    holder: a.holderName,
    account: a.account,
    bank: a.bankId,
    country: a.country,
    'changed by': a.changedBy,
    created: a.createdAt.toISOString(),
    ...(markCurrent ? { replaced: a.replacedAt?.toISOString() } : {}),
  }));
  return table(rows, [
    ...(markCurrent ? ['current'] : []),
    'seller',
    'currency',
    'version',
    'holder',
    'account',
    'bank',
    'country',
    'changed by',
    'created',
    ...(markCurrent ? ['replaced'] : []),
  ]);
}
