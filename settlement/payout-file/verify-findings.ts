/**
 * The vocabulary of `verifyPayoutFile`: named checks, findings that keep a count and the first few
 * examples (a million bad lines must not become a million-line report), and a compact id list.
 */
export interface VerifyCheck {
  name: string;
  ok: boolean;
  detail: string;
}

const EXAMPLES = 5;

export class Findings {
  count = 0;
  private readonly examples: string[] = [];

  add(problem: string): void {
    this.count++;
    if (this.examples.length < EXAMPLES) this.examples.push(problem);
  }

  check(name: string, okDetail: string): VerifyCheck {
    if (this.count === 0) return { name, ok: true, detail: okDetail };
    const more =
      this.count > this.examples.length ? ` (+${this.count - this.examples.length} more)` : '';
    return {
      name,
      ok: false,
      detail: `${this.count} problem${this.count === 1 ? '' : 's'}: ${this.examples.join('; ')}${more}`,
    };
  }
}

/**
 * Payout ids in a BigInt64Array: 8 bytes each, so a million ids cost 8 MB instead of the ~50 MB
 * of a bigint[]. Ids are positive 64-bit values, which a signed 64-bit slot holds exactly.
 */
export class IdList {
  private buf = new BigInt64Array(1024);
  length = 0;

  push(id: bigint): void {
    if (this.length === this.buf.length) {
      const next = new BigInt64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = id;
  }

  /** A sorted copy, for has(). */
  sorted(): SortedIds {
    return new SortedIds(this.buf.slice(0, this.length).sort());
  }
}

export class SortedIds {
  constructor(private readonly ids: BigInt64Array) {}

  has(id: bigint): boolean {
    let lo = 0;
    let hi = this.ids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.ids[mid]!;
      if (v === id) return true;
      if (v < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }
}
