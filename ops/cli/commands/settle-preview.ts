import type { StsConfig } from '../../../runtime/config';
import { createDb } from '../../../runtime/db/knex';
import { formatMoney } from '../../../runtime/money/money-text';
import type { Anomaly } from '../../../settlement/cycle-close/close-anomalies';
import { previewClose, type ClosePreview } from '../../../settlement/cycle-close/close-preview';
import { toJson } from '../output';

/**
 * `sts settle close --preview`: the close's figures before anything is written (close-preview.ts).
 * Text for a person, money as money; `--json` for programs, amounts as minor-unit strings.
 */
export async function runClosePreview(
  config: StsConfig,
  opts: { region: string; cutoff?: Date; json?: boolean },
): Promise<void> {
  const db = createDb(config.mysqlUrl, { pool: 1 });
  try {
    const preview = await previewClose(db, {
      region: opts.region,
      cutoff: opts.cutoff,
      rails: config.payoutRails,
      payeeCooloffHours: config.payeeCooloffHours,
      flags: config.preview,
    });
    process.stdout.write(opts.json ? `${toJson({ ok: true, preview })}\n` : renderPreview(preview));
  } finally {
    await db.destroy();
  }
}

export function renderPreview(p: ClosePreview): string {
  const lines = [
    `preview of the close of cycle ${p.cycleId} of ${p.region} (cutoff ${p.cutoff.toISOString()}, ${p.cycleStatus}, rail ${p.rail}); nothing was written`,
  ];
  if (p.cycleStatus === 'CLOSED')
    return `${lines[0]}\nthe cycle is already closed: its close would make nothing\n`;
  if (p.existingPayouts > 0)
    lines.push(`${p.existingPayouts} payout(s) already exist (a resumed close skips them)`);
  if (p.currencies.length === 0)
    lines.push('no seller account in this cycle: the close would make no payout');
  for (const c of p.currencies) {
    const money = (minor: bigint) => formatMoney(minor, c.currency);
    lines.push(
      `${c.currency}: ${c.payouts} payouts, total ${money(c.totalMinor)}, average ${money(c.averageMinor)}`,
      `  pending ${c.pending.count} (${money(c.pending.totalMinor)}), on hold ${c.onHold.count} (${money(c.onHold.totalMinor)}), carried forward ${c.carriedForward.count} (${money(c.carriedForward.totalMinor)})`,
    );
    const past = p.history.filter((h) => h.currency === c.currency);
    if (past.length === 0) lines.push('  no earlier closed cycle paid in this currency');
    for (const h of past)
      lines.push(
        `  cycle ${h.cycleId}: ${h.payouts} payouts, total ${money(h.totalMinor)}, average ${money(h.averageMinor)}`,
      );
  }
  if (p.holds.length > 0) {
    lines.push(`holds (${p.byStatus.ON_HOLD ?? 0}):`);
    for (const h of p.holds)
      lines.push(
        `  seller ${h.shopUserId}: ${formatMoney(h.amountMinor, h.currency)} ${h.holdReason}`,
      );
  }
  if (p.carryForwards.length > 0) {
    lines.push(
      `carried forward (${p.byStatus.CARRIED_FORWARD ?? 0}${p.carryForwards.length < (p.byStatus.CARRIED_FORWARD ?? 0) ? `, first ${p.carryForwards.length} shown` : ''}):`,
    );
    for (const h of p.carryForwards)
      lines.push(`  seller ${h.shopUserId}: ${formatMoney(h.amountMinor, h.currency)}`);
  }
  lines.push(
    p.anomalies.length === 0
      ? 'anomalies: none'
      : `anomalies (${p.anomalies.length + p.moreSellerJumps}):`,
  );
  for (const a of p.anomalies) lines.push(`  ! ${anomalyText(a, p.flags.factor)}`);
  if (p.moreSellerJumps > 0)
    lines.push(
      `  ! and ${p.moreSellerJumps} more seller(s) far above their previous payouts (--json lists the first ones)`,
    );
  return `${lines.join('\n')}\n`;
}

function anomalyText(a: Anomaly, factor: number): string {
  const money = (minor: bigint | null) =>
    minor === null ? '-' : formatMoney(minor, a.currency ?? '');
  switch (a.kind) {
    case 'TOTAL_OUT_OF_RANGE':
      return `${a.currency} payout total ${money(a.value)} is outside ${money(a.low)} .. ${money(a.high)} of the previous cycles by more than ×${factor}`;
    case 'COUNT_OUT_OF_RANGE':
      return `${a.currency} payout count ${a.value} is outside ${a.low} .. ${a.high} of the previous cycles by more than ×${factor}`;
    case 'SELLER_JUMP':
      return `seller ${a.shopUserId} would be paid ${money(a.value)}, its largest payout of the previous cycles was ${money(a.high)}`;
    case 'MANY_HOLDS':
      return a.message;
  }
}
