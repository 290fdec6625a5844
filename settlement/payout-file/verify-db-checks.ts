import type { Knex } from 'knex';
import type { PayoutFileKey } from './pain001-writer';
import { PAYABLE_STATUSES, payablePages, payoutsById } from './payout-pages';
import { Findings, type SortedIds, type VerifyCheck } from './verify-findings';

/**
 * The database side of verification (DESIGN lesson 5: "verified against the database before
 * release"): every line of the file is a payable payout of this region, cycle and currency with
 * the same seller and amount, and no payable payout of that file is missing from it.
 *
 * Lines are looked up a batch at a time, as the scanner hands them over; completeness walks the
 * payable payouts in keyset pages against the file's sorted ids. Memory stays bounded by a page
 * plus 8 bytes per file line.
 */
export interface FileLine {
  id: bigint;
  shopUserId: bigint;
  amountMinor: bigint;
}

export class DbPayoutMatcher {
  private readonly mismatches = new Findings();
  private matched = 0;

  constructor(
    private readonly db: Knex,
    private readonly key: PayoutFileKey,
  ) {}

  async checkBatch(lines: readonly FileLine[]): Promise<void> {
    if (lines.length === 0) return;
    const found = await payoutsById(
      this.db,
      lines.map((l) => l.id),
    );
    for (const line of lines) {
      const p = found.get(line.id);
      if (!p) {
        this.mismatches.add(`EndToEndId ${line.id} is not a payout in the database`);
        continue;
      }
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
      if (diffs.length > 0)
        this.mismatches.add(`payout ${line.id}: the database has ${diffs.join(', ')}`);
      else this.matched++;
    }
  }

  /** After every batch was checked. */
  linesCheck(): VerifyCheck {
    return this.mismatches.check(
      'db-payouts',
      `all ${this.matched} lines match payable payouts in the database`,
    );
  }

  async completenessCheck(fileIds: SortedIds): Promise<VerifyCheck> {
    const missing = new Findings();
    let payable = 0;
    for await (const page of payablePages(this.db, this.key)) {
      for (const p of page) {
        payable++;
        if (!fileIds.has(p.id))
          missing.add(
            `payout ${p.id} (seller ${p.shopUserId}, ${p.amountMinor} minor units, ${p.status}) is not in the file`,
          );
      }
    }
    return missing.check(
      'db-complete',
      `all ${payable} payable payouts of ${this.key.region} ${this.key.cycleId} ${this.key.currency} are in the file`,
    );
  }

  /** A RELEASED payout_file row must name these exact bytes: what went out must not change. */
  async recordCheck(sha256: string): Promise<VerifyCheck> {
    const row = (await this.db('payout_file').first('sha256', 'status').where({
      region: this.key.region,
      cycle_id: this.key.cycleId.toString(),
      currency: this.key.currency,
    })) as { sha256: string; status: string } | undefined;
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
