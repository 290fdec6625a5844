import { parseRows } from '../../runtime/csv/csv-fields';
import type { SplitRecord } from '../../runtime/csv/csv-record-splitter';
import { rowValidator, type RowVerdict } from '../../processors/upload-ingestion/row-validator';

/**
 * What a file would book, added up while intake reads it once before publishing anything: per
 * seller its net total and its largest row, per currency the money it moves. The checks of
 * upload-checks.ts compare these with the ledger.
 *
 * Rows are read exactly as ingestion reads them (csv-fields.ts, row-validator.ts), so only rows
 * ingestion would accept are counted; a row it will reject moves no money. (Duplicates and
 * conflicts with the ledger are still counted: telling them apart needs a lookup per row.)
 *
 * Memory is one entry per seller, bigint keyed, and at most `sellerLimit` of them: past it the
 * file is held for touching too many sellers anyway, so further sellers are only noted as seen.
 */
export interface SellerTally {
  /** Net sum of the seller's rows, minor units. */
  total: bigint;
  /** The row of largest magnitude, and its number (1-based data row). */
  largestRow: bigint;
  largestRowNumber: bigint;
}

export interface FileTally {
  /** Region, then seller: every seller tallied. */
  readonly sellers: ReadonlyMap<string, ReadonlyMap<bigint, SellerTally>>;
  /** Distinct (region, seller) pairs tallied. */
  readonly sellerCount: number;
  /** Rows of sellers beyond `sellerLimit` were seen, so the file touches more than sellerCount. */
  readonly moreSellers: boolean;
  /** Per currency, the sum of the rows' magnitudes, minor units. */
  readonly grossByCurrency: ReadonlyMap<string, bigint>;
  /** Data rows read, valid or not. */
  readonly rows: bigint;
}

export class UploadTally {
  private readonly validate: (fields: string[]) => RowVerdict;
  private readonly sellers = new Map<string, Map<bigint, SellerTally>>();
  private readonly gross = new Map<string, bigint>();
  private sellerCount = 0;
  private moreSellers = false;
  private rows = 0n;

  constructor(
    columns: string[],
    private readonly sellerLimit: number,
  ) {
    this.validate = rowValidator(columns);
  }

  add(record: SplitRecord): void {
    this.rows++;
    // A line the splitter flagged (bad UTF-8, too long, an unclosed quote) is rejected by ingestion.
    if (!('raw' in record)) return;
    // parseRows splits a record without quotes between its commas and gives the rest to csv-parse,
    // which costs twenty times as much (a batch would buy nothing: rows are not kept).
    const parsed = parseRows([record.raw])[0]!;
    if (!parsed.ok) return;
    const verdict = this.validate(parsed.fields);
    if (!verdict.ok) return;
    const { region, currency, shopUserId, amountMinor } = verdict.row;
    const magnitude = amountMinor < 0n ? -amountMinor : amountMinor;
    this.gross.set(currency, (this.gross.get(currency) ?? 0n) + magnitude);

    let inRegion = this.sellers.get(region);
    if (!inRegion) this.sellers.set(region, (inRegion = new Map()));
    const seller = inRegion.get(shopUserId);
    if (seller) {
      seller.total += amountMinor;
      if (magnitude > abs(seller.largestRow)) {
        seller.largestRow = amountMinor;
        seller.largestRowNumber = BigInt(record.index);
      }
    } else if (this.sellerCount < this.sellerLimit) {
      inRegion.set(shopUserId, { total: amountMinor, largestRow: amountMinor, largestRowNumber: BigInt(record.index) });
      this.sellerCount++;
    } else {
      this.moreSellers = true;
    }
  }

  result(): FileTally {
    return { sellers: this.sellers, sellerCount: this.sellerCount, moreSellers: this.moreSellers, grossByCurrency: this.gross, rows: this.rows };
  }
}

const abs = (n: bigint) => (n < 0n ? -n : n);
