/**
 * What a close preview flags (close-preview.ts), judged against the region's last closed cycles.
 * A flag is a reason to look before closing, never a refusal: a sale week can be real. Each check
 * uses a whole-number factor and bigint arithmetic only (docs/DESIGN.md, lesson 8), and needs
 * history to compare with: the first close of a region flags nothing but its holds.
 *
 *   TOTAL_OUT_OF_RANGE  a currency's payout total above `factor` × the highest of the previous
 *                       cycles, or below the lowest ÷ `factor` (a doubled feed, a missing upload)
 *   COUNT_OUT_OF_RANGE  the same for the number of payouts (sellers missing, or duplicated)
 *   SELLER_JUMP         one seller's payout above `sellerFactor` × its largest payout of those
 *                       cycles (a unit slip on one seller's items; sellers new to the history are
 *                       not judged)
 *   MANY_HOLDS          more than `holds` payouts would be held: someone has to release each
 */
export const PREVIEW_FLAG_DEFAULTS = {
  /** Closed cycles compared with (STS_PREVIEW_HISTORY). */
  history: 4,
  /** STS_PREVIEW_FACTOR. */
  factor: 2,
  /** STS_PREVIEW_SELLER_FACTOR. */
  sellerFactor: 5,
  /** STS_PREVIEW_HOLDS. */
  holds: 10,
} as const;

export type PreviewFlags = { [K in keyof typeof PREVIEW_FLAG_DEFAULTS]: number };

export type AnomalyKind =
  'TOTAL_OUT_OF_RANGE' | 'COUNT_OUT_OF_RANGE' | 'SELLER_JUMP' | 'MANY_HOLDS';

export interface Anomaly {
  kind: AnomalyKind;
  currency: string | null;
  shopUserId: bigint | null;
  /** The figure flagged and what it was compared with, minor units for money. */
  value: bigint;
  low: bigint | null;
  high: bigint | null;
  message: string;
}

export interface CycleFigures {
  payouts: bigint;
  totalMinor: bigint;
}

/** Total and count of one currency against the previous cycles that paid in it. */
export function rangeAnomalies(
  currency: string,
  now: CycleFigures,
  history: CycleFigures[],
  factor: bigint,
): Anomaly[] {
  const paid = history.filter((h) => h.payouts > 0n);
  if (paid.length === 0) return [];
  const out: Anomaly[] = [];
  const judge = (
    kind: AnomalyKind,
    what: string,
    value: bigint,
    values: bigint[],
    unit: string,
  ) => {
    const low = values.reduce((a, b) => (b < a ? b : a));
    const high = values.reduce((a, b) => (b > a ? b : a));
    if (value <= high * factor && value * factor >= low) return;
    out.push({
      kind,
      currency,
      shopUserId: null,
      value,
      low,
      high,
      message: `${currency} ${what} ${value}${unit} is outside ${low}..${high}${unit} of the last ${paid.length} closed cycle(s) by more than ×${factor}`,
    });
  };
  judge(
    'TOTAL_OUT_OF_RANGE',
    'payout total',
    now.totalMinor,
    paid.map((h) => h.totalMinor),
    ' (minor units)',
  );
  judge(
    'COUNT_OUT_OF_RANGE',
    'payout count',
    now.payouts,
    paid.map((h) => h.payouts),
    '',
  );
  return out;
}

/** A seller's payout against its largest of the previous cycles; undefined when within bounds. */
export function sellerJump(
  currency: string,
  shopUserId: bigint,
  amount: bigint,
  previousMax: bigint | undefined,
  factor: bigint,
): Anomaly | undefined {
  if (previousMax === undefined || previousMax <= 0n || amount <= previousMax * factor)
    return undefined;
  return {
    kind: 'SELLER_JUMP',
    currency,
    shopUserId,
    value: amount,
    low: null,
    high: previousMax,
    message: `seller ${shopUserId} would be paid ${amount} ${currency} (minor units), above ×${factor} its largest payout of the last closed cycles (${previousMax})`,
  };
}

export function holdsAnomaly(holds: number, limit: number): Anomaly | undefined {
  if (holds <= limit) return undefined;
  return {
    kind: 'MANY_HOLDS',
    currency: null,
    shopUserId: null,
    value: BigInt(holds),
    low: null,
    high: BigInt(limit),
    message: `${holds} payouts would be held (more than ${limit}); each needs an operator to release or cancel it`,
  };
}
