import { REGIONS } from '../money/regions';

/**
 * How a payout leaves the marketplace. Each region pays on one rail, chosen by configuration
 * (STS_PAYOUT_RAILS): `gateway`, an API payout provider called per payout by payment-notify, or
 * `bank-file`, pain.001 files sent host-to-host to the marketplace's bank and closed by the bank's
 * status reports. A payout records its rail when the close creates it, and only that rail pays it,
 * so no payout can travel both.
 */
export const PAYOUT_RAILS = ['gateway', 'bank-file'] as const;
export type PayoutRail = (typeof PAYOUT_RAILS)[number];

/** The rail of regions STS_PAYOUT_RAILS does not name. */
export const DEFAULT_RAIL: PayoutRail = 'gateway';

export type RailMap = Readonly<Record<string, PayoutRail>>;

export const isPayoutRail = (v: string): v is PayoutRail => (PAYOUT_RAILS as readonly string[]).includes(v);

/**
 * `SG=bank-file,MY=gateway` into a rail per region; every region not named pays through the
 * gateway. Throws an Error whose message says what is wrong (config.ts turns it into
 * STS_CONFIG_INVALID when the process starts).
 */
export function parsePayoutRails(text: string): RailMap {
  const rails: Record<string, PayoutRail> = {};
  for (const region of Object.keys(REGIONS)) rails[region] = DEFAULT_RAIL;
  const seen = new Set<string>();
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([A-Za-z]{2})=([a-z-]+)$/.exec(part);
    if (!m) throw new Error(`"${part}" is not REGION=RAIL (for example SG=bank-file)`);
    const region = m[1]!.toUpperCase();
    const rail = m[2]!;
    if (!(region in REGIONS)) throw new Error(`"${region}" is not a region (${Object.keys(REGIONS).join(', ')})`);
    if (!isPayoutRail(rail)) throw new Error(`"${rail}" is not a rail (${PAYOUT_RAILS.join(' or ')})`);
    if (seen.has(region)) throw new Error(`${region} is named twice`);
    seen.add(region);
    rails[region] = rail;
  }
  return rails;
}
