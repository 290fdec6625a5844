import { EDGE_LIMITS } from '../runtime/edge-limits';

/**
 * The upload CSV contract (docs/DESIGN.md, "Contracts"), in one place for intake and ingestion:
 * which columns exist, which are required, and the limits a row must respect.
 */
export const REQUIRED_COLUMNS = ['external_ref', 'shop_user_id', 'region', 'currency', 'amount', 'item_type'] as const;
export const OPTIONAL_COLUMNS = ['order_id', 'memo'] as const;
export type UploadColumn = (typeof REQUIRED_COLUMNS)[number] | (typeof OPTIONAL_COLUMNS)[number];

export const ITEM_TYPES = new Set(['ADJUSTMENT', 'SERVICE_FEE', 'SUBSIDY', 'LOGISTICS_FEE', 'PENALTY']);
/** The limits are the edge limits every input shares (runtime/edge-limits.ts), not copies. */
export const MEMO_MAX_CHARS = EDGE_LIMITS.memoMaxChars;
export const EXTERNAL_REF_MAX_CHARS = EDGE_LIMITS.externalRefMaxChars;
/** Billing items written from uploads carry this source; (region, UPLOAD, external_ref) is unique. */
export const UPLOAD_SOURCE = 'UPLOAD';

export interface HeaderCheck {
  /** Normalised names in file order ('' for a blank header cell). */
  columns: string[];
  missing: string[];
  duplicated: string[];
  /** Columns the contract does not know; they are carried but ignored. */
  unknown: string[];
}

/**
 * Header names are case-insensitive (ASCII: only A-Z folds, as for codes, so no look-alike ever
 * names a column) and may come in any order; surrounding spaces are ignored.
 */
export function checkHeader(rawNames: string[]): HeaderCheck {
  const columns = rawNames.map((n) => n.trim().replace(/[A-Z]+/g, (c) => c.toLowerCase()));
  const known = new Set<string>([...REQUIRED_COLUMNS, ...OPTIONAL_COLUMNS]);
  const seen = new Set<string>();
  const duplicated = new Set<string>();
  for (const c of columns) (seen.has(c) ? duplicated : seen).add(c);
  return {
    columns,
    missing: REQUIRED_COLUMNS.filter((c) => !seen.has(c)),
    duplicated: [...duplicated].filter((c) => known.has(c)),
    unknown: columns.filter((c) => c !== '' && !known.has(c)),
  };
}
