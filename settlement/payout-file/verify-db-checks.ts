import type { Knex } from 'knex';
import type { PayoutFileKey } from './pain001-writer';
import {
  fileRowKey,
  PAYABLE_STATUSES,
  payablePages,
  payableRangeOf,
  payoutsById,
  type IdRange,
  type PayoutRecord,
} from './payout-pages';
import { Findings, IdList, type VerifyCheck } from './verify-findings';

/** Missing payouts described in full in the report (Findings keeps five examples). */
const MISSING_EXAMPLES = 5;

/**
 * The database side of verification (docs/DESIGN.md, lesson 5: a file is checked against the
 * database before it is released): every line of the file is a payable payout of this region, cycle
 * and currency with the same seller and amount, and no payable payout of that file is missing from
 * it.
 *
 * A merge join: the file's lines arrive in id order (the writer's order, which verify checks), and
 * the payable payouts of the file's key are read in id order too, in large keyset pages. One walk
 * over both answers both questions; a line and its payout meet when the two ids are equal. Looking
 * each line up by id instead cost a round trip per thousand lines and a second walk for
 * completeness. Lines the walk cannot place (not payable, of another file, or out of order) are
 * looked up by id, a batch at a time, and judged exactly as before; payable payouts the walk
 * passed without a line are remembered by id (8 bytes each) until the end, because an
 * out-of-order line may still claim one.
 *
 * Memory stays bounded by a page plus 8 bytes per payout missing from the file.
 */
export interface FileLine {
  id: bigint;
  shopUserId: bigint;
  amountMinor: bigint;
}

/** Payable payouts read per page of the walk. */
const WALK_PAGE = 50_000;

export class DbPayoutMatcher {
  private readonly mismatches = new Findings();
  private matched = 0;
  private readonly walk: AsyncGenerator<PayoutRecord[]>;
  private page: PayoutRecord[] = [];
  private at = 0;
  private walked = false;
  private lastLineId: bigint | undefined;
  /** Payable payouts passed without a line, in id order. */
  private readonly passed = new IdList();
  /** Of those, the ones an out-of-order line claimed after all. */
  private readonly claimed = new Set<bigint>();
  private payable = 0;
  /** The ids this file covers: all of its currency's, or one part's (payableParts). */
  private range: IdRange | undefined;

  constructor(
    private readonly db: Knex,
    private readonly key: PayoutFileKey,
  ) {
    this.walk = this.walkPages();
  }

  private async *walkPages(): AsyncGenerator<PayoutRecord[]> {
    yield* payablePages(this.db, this.key, WALK_PAGE, await this.rangeOf());
  }

  private async rangeOf(): Promise<IdRange> {
    this.range ??= await payableRangeOf(this.db, this.key);
    return this.range;
  }

  async checkBatch(lines: readonly FileLine[]): Promise<void> {
    if (lines.length === 0) return;
    const range = await this.rangeOf();
    // Per line: the payout it met in the walk, or undefined to look up by id. Findings are added
    // afterwards in line order, so the report reads as before.
    const met = new Array<PayoutRecord | undefined>(lines.length);
    const lookups: bigint[] = [];
    for (let k = 0; k < lines.length; k++) {
      const line = lines[k]!;
      if (this.lastLineId !== undefined && line.id <= this.lastLineId) {
        lookups.push(line.id);
        continue;
      }
      this.lastLineId = line.id;
      let p = await this.current();
      while (p && p.id < line.id) {
        this.passed.push(p.id);
        this.advance();
        p = await this.current();
      }
      if (p && p.id === line.id) {
        met[k] = p;
        this.advance();
      } else lookups.push(line.id);
    }
    const found = lookups.length > 0 ? await payoutsById(this.db, lookups) : undefined;
    for (let k = 0; k < lines.length; k++) {
      const line = lines[k]!;
      const p = met[k] ?? found?.get(line.id);
      if (!p) {
        this.mismatches.add(`EndToEndId ${line.id} is not a payout in the database`);
        continue;
      }
      if (!met[k] && this.isPayableHere(p)) this.claimed.add(p.id);
      const diffs: string[] = [];
      if (p.region !== this.key.region) diffs.push(`region ${p.region}`);
      if (p.cycleId !== this.key.cycleId) diffs.push(`cycle ${p.cycleId}`);
      if (p.currency !== this.key.currency) diffs.push(`currency ${p.currency}`);
      if (p.shopUserId !== line.shopUserId)
        diffs.push(`shop_user_id ${p.shopUserId} where the file has ${line.shopUserId}`);
      if (p.amountMinor !== line.amountMinor)
        diffs.push(`amount_minor ${p.amountMinor} where the file has ${line.amountMinor}`);
      if (!PAYABLE_STATUSES.includes(p.status))
        diffs.push(`status ${p.status}, which is not payable`);
      else if (!inRange(range, p.id)) diffs.push(`it in another part of the ${this.key.currency} payouts`);
      if (diffs.length > 0)
        this.mismatches.add(`payout ${line.id}: the database has ${diffs.join(', ')}`);
      else this.matched++;
    }
  }

  /**
   * Lines whose id reads but whose values do not (a bad amount, say): the transactions check
   * already reports them, and their payouts are in the file, so completeness must not call them
   * missing too.
   */
  markPresent(ids: readonly bigint[]): void {
    for (const id of ids) this.claimed.add(id);
  }

  /** After every batch was checked. */
  linesCheck(): VerifyCheck {
    return this.mismatches.check(
      'db-payouts',
      `all ${this.matched} lines match payable payouts in the database`,
    );
  }

  /** After every batch was checked: finishes the walk; what no line met is missing. */
  async completenessCheck(): Promise<VerifyCheck> {
    for (let p = await this.current(); p; p = await this.current()) {
      this.passed.push(p.id);
      this.advance();
    }
    const firstMissing: bigint[] = [];
    for (const id of this.passed.values()) {
      if (this.claimed.has(id)) continue;
      firstMissing.push(id);
      if (firstMissing.length === MISSING_EXAMPLES) break;
    }
    const examples = await payoutsById(this.db, firstMissing);
    const missing = new Findings();
    for (const id of this.passed.values()) {
      if (this.claimed.has(id)) continue;
      const p = examples.get(id);
      missing.add(
        p
          ? `payout ${p.id} (seller ${p.shopUserId}, ${p.amountMinor} minor units, ${p.status}) is not in the file`
          : `payout ${id} is not in the file`,
      );
    }
    return missing.check(
      'db-complete',
      `all ${this.payable} payable payouts of ${this.key.region} ${this.key.cycleId} ${this.key.currency} are in the file`,
    );
  }

  private isPayableHere(p: PayoutRecord): boolean {
    return (
      p.region === this.key.region &&
      p.cycleId === this.key.cycleId &&
      p.currency === this.key.currency &&
      PAYABLE_STATUSES.includes(p.status) &&
      inRange(this.range!, p.id)
    );
  }

  /** The walk's next payable payout, reading a page when the last one is used up. */
  private async current(): Promise<PayoutRecord | undefined> {
    if (this.at < this.page.length) return this.page[this.at];
    if (this.walked) return undefined;
    const next = await this.walk.next();
    if (next.done) {
      this.walked = true;
      this.page = [];
      this.at = 0;
      return undefined;
    }
    this.page = next.value;
    this.at = 0;
    return this.page[0];
  }

  private advance(): void {
    this.at++;
    this.payable++;
  }

  /** A RELEASED payout_file row must name these exact bytes: what went out must not change. */
  async recordCheck(sha256: string): Promise<VerifyCheck> {
    const row = (await this.db('payout_file')
      .first('sha256', 'status')
      .where(fileRowKey(this.key))) as { sha256: string; status: string } | undefined;
    if (!row)
      return { name: 'db-record', ok: true, detail: 'no payout_file row yet (first write)' };
    if (row.sha256 !== sha256 && row.status === 'RELEASED') {
      return {
        name: 'db-record',
        ok: false,
        detail: `payout_file row (RELEASED) records sha256 ${row.sha256}, the file has ${sha256}`,
      };
    }
    // An unreleased version may be moved aside and regenerated; the write then updates the row.
    if (row.sha256 !== sha256)
      return {
        name: 'db-record',
        ok: true,
        detail: `payout_file row (${row.status}) records an earlier, unreleased version`,
      };
    return {
      name: 'db-record',
      ok: true,
      detail: `payout_file row (${row.status}) records these exact bytes`,
    };
  }
}

const inRange = (r: IdRange, id: bigint) =>
  id > r.afterId && (r.lastId === undefined || id <= r.lastId);
