import os from 'node:os';
import type { Command } from 'commander';
import { loadConfig } from '../../../runtime/config';
import { createDb, type Knex } from '../../../runtime/db/knex';
import { CommissionRuleInvalidError, CommissionRuleUnconfirmedError } from '../../../processors/commission/commission-errors';
import { auditAs } from '../../api/audit';
import { formatMoney } from '../../../runtime/money/money-text';
import { regionInfo } from '../../../runtime/money/regions';
import { ruleWireView, type CommissionRule } from '../../../processors/commission/commission-rule';
import { addRule, listRules } from '../../../processors/commission/rule-store';
import { table, toJson } from '../output';

/**
 * `sts rules add|list`: commission rules, versioned per region and category. Amounts are integer
 * minor units and dates ISO 8601 (a time without an offset is refused: rules are UTC).
 */
interface AddOptions {
  region: string;
  category: string;
  rateBps: string;
  min?: string;
  max?: string;
  affiliateShareBps?: string;
  from: string;
  to?: string;
  actor?: string;
  confirmWarnings?: boolean;
  json?: boolean;
}

export function registerRuleCommands(program: Command): void {
  const rules = program
    .command('rules')
    .description(
      'commission rules: rate, min/max per order, effective dates; versioned per region and category',
    );

  rules
    .command('add')
    .description(
      "add a rule version; category '*' is the region's default when no category rule is in effect",
    )
    .requiredOption('--region <region>', 'SG, MY, TH, VN, ID, PH, TW or BR')
    .requiredOption('--category <category>', "order category, or '*' for the region's default")
    .requiredOption('--rate-bps <n>', 'fee in basis points of the order amount, 0..10000')
    .option('--min <minor>', 'minimum fee per order, in minor units (default 0)')
    .option('--max <minor>', 'maximum fee per order, in minor units (default: no cap)')
    .option(
      '--affiliate-share-bps <n>',
      "affiliate's share of the fee, 0..10000 (default 10000: the whole fee)",
    )
    .requiredOption('--from <iso>', 'effective from, inclusive, ISO 8601 with Z or an offset')
    .option('--to <iso>', 'effective to, exclusive (default: open-ended)')
    .option('--actor <name>', 'recorded as created_by (default cli:<os user>)')
    .option(
      '--confirm-warnings',
      'write the rule despite its warnings (a rate jump past STS_RULE_RATE_WARN_BPS, a past --from); audited',
    )
    .option('--json', 'machine-readable output')
    .action(async (opts: AddOptions) => {
      const input = {
        region: opts.region,
        category: opts.category,
        rateBps: wholeNumber('--rate-bps', opts.rateBps),
        minMinor: opts.min === undefined ? undefined : minorUnits('--min', opts.min),
        maxMinor: opts.max === undefined ? undefined : minorUnits('--max', opts.max),
        affiliateShareBps:
          opts.affiliateShareBps === undefined
            ? undefined
            : wholeNumber('--affiliate-share-bps', opts.affiliateShareBps),
        effectiveFrom: instant('--from', opts.from),
        effectiveTo: opts.to === undefined ? undefined : instant('--to', opts.to),
      };
      const actor = opts.actor ?? `cli:${os.userInfo().username}`;
      let confirmed: Array<{ kind: string; message: string }> = [];
      const rule = await withDb((db) =>
        addRule(db, input, actor, {
          confirmed: opts.confirmWarnings === true,
          rateWarnBps: loadConfig().ruleRateWarnBps,
          onConfirmed: async (trx, added, warnings) => {
            confirmed = warnings;
            await auditAs(
              trx,
              actor,
              null,
              'commission-rule.confirm-warnings',
              added.id.toString(),
              {
                rule: ruleWireView(added),
                warnings,
              },
            );
          },
        }).catch((err: unknown) => {
          if (err instanceof CommissionRuleUnconfirmedError && !opts.json)
            for (const w of err.warnings)
              process.stderr.write(`warning [${w.kind}]: ${w.message}\n`);
          throw err;
        }),
      );
      if (!opts.json)
        for (const w of confirmed)
          process.stderr.write(`warning [${w.kind}], confirmed and audited: ${w.message}\n`);
      if (opts.json)
        process.stdout.write(
          `${toJson({ ok: true, rule: ruleWireView(rule), confirmedWarnings: confirmed })}\n`,
        );
      else
        process.stdout.write(
          `added ${rule.region}/${rule.category} v${rule.version} (id ${rule.id})\n`,
        );
    });

  rules
    .command('list')
    .description('list rule versions, oldest first per region and category')
    .option('--region <region>', 'only this region')
    .option('--json', 'machine-readable output')
    .action(async (opts: { region?: string; json?: boolean }) => {
      const found = await withDb((db) => listRules(db, { region: opts.region }));
      const rows = found.map(ruleWireView);
      if (opts.json) process.stdout.write(`${toJson({ ok: true, rules: rows })}\n`);
      else if (rows.length === 0) process.stdout.write('no commission rules\n');
      else
        process.stdout.write(
          `${table(found.map(tableRow), ['region', 'category', 'version', 'rateBps', 'min fee', 'max fee', 'affiliateShareBps', 'effectiveFrom', 'effectiveTo', 'createdBy'])}\n`,
        );
    });
}

async function withDb<T>(fn: (db: Knex) => Promise<T>): Promise<T> {
  const db = createDb(loadConfig().mysqlUrl, { pool: 2 });
  try {
    return await fn(db);
  } finally {
    await db.destroy();
  }
}


/** The table a person reads: the fee bounds in major units of the region's currency. */
function tableRow(r: CommissionRule): Record<string, string | number | null> {
  const currency = regionInfo(r.region)?.currency ?? r.region;
  return {
    ...ruleWireView(r),
    'min fee': formatMoney(r.minMinor, currency),
    'max fee': r.maxMinor === null ? 'no cap' : formatMoney(r.maxMinor, currency),
  };
}

function wholeNumber(flag: string, text: string): number {
  if (!/^-?\d{1,9}$/.test(text.trim()))
    throw new CommissionRuleInvalidError([`${flag} must be a whole number (got "${text}")`]);
  return Number(text.trim());
}

/** Minor units are parsed straight into bigint, never through a float
 * (docs/DESIGN.md, lesson 8). */
function minorUnits(flag: string, text: string): bigint {
  if (!/^-?\d{1,19}$/.test(text.trim()))
    throw new CommissionRuleInvalidError([
      `${flag} must be a whole number of minor units (got "${text}")`,
    ]);
  return BigInt(text.trim());
}

/** A timestamp without Z or an offset would be read in the machine's zone; rules are UTC. */
function instant(flag: string, text: string): Date {
  const ok = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(
    text.trim(),
  );
  const at = new Date(text.trim());
  if (!ok || Number.isNaN(at.getTime()))
    throw new CommissionRuleInvalidError([
      `${flag} must be ISO 8601 in UTC, e.g. 2026-01-01 or 2026-01-01T00:00:00Z (got "${text}")`,
    ]);
  return at;
}
