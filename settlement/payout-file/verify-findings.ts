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

  /** The ids in the order they were pushed. */
  *values(): IterableIterator<bigint> {
    for (let i = 0; i < this.length; i++) yield this.buf[i]!;
  }
}
