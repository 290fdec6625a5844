import { StsError } from '../errors';

/**
 * Errors of the billing ledger: concurrent writes, balance guards and overflow, cycles. Each class raises one code of the closed set in
 * runtime/error-codes.ts, on the root class StsError (runtime/errors.ts).
 */

/** Another writer committed the same key, or moved a balance this batch was admitted against,
 * between this batch's read and its write. Retriable: the batch reruns and then finds the other
 * writer's row or balance where it first looks. */
export class ConcurrentWriteError extends StsError {
  constructor(detail: string, cause?: unknown) {
    super('STS_CONCURRENT_WRITE', detail, { cause });
  }
}

/** Loading billing items gave more warnings than rows it skipped as duplicates: the server changed
 * a value to fit a column. Not retriable: the batch fails rather than book an amount or a key
 * other than the one given, and would be altered the same way again. */
export class LedgerWriteAlteredError extends StsError {
  constructor(items: number, warnings: number, skipped: number, samples: readonly string[]) {
    super(
      'STS_LEDGER_WRITE_ALTERED',
      `loading ${items} billing items gave ${warnings} warnings for ${skipped} skipped rows: ${samples.join('; ')}`,
    );
  }
}

/**
 * A guarded balance write (BalanceIncrements in 'guarded' mode) would have let an account come
 * close enough to its payout bound that some item might need refusing, so it wrote nothing. Not
 * an input problem: the caller rolls back to before its appends and redoes them reading balances.
 */
export class BalanceGuardMissedError extends StsError {
  constructor(accounts: number) {
    super('STS_BALANCE_GUARD_MISSED', `a balance write over ${accounts} account(s) found one near its payout bound; nothing was written`, {
      context: { accounts },
      fix: 'none needed when the caller reruns the batch reading balances, as upload ingestion does; anywhere else, use BalanceIncrements in its reading mode',
    });
  }
}

export class BalanceOverflowError extends StsError {
  constructor(
    account: { region: string; shop: bigint; currency: string; cycle: bigint },
    balance: bigint,
  ) {
    const { region, shop, currency, cycle } = account;
    super(
      'STS_BALANCE_OVERFLOW',
      `seller ${shop}'s ${currency} balance in cycle ${cycle} would be ${balance} minor units, past a signed 64-bit integer`,
      {
        context: { region, shopUserId: shop.toString(), cycleId: cycle.toString() },
        fix: "nothing was written; settle the seller's carried debt (a cycle's balance beyond the payout bound is carried forward) before closing again",
      },
    );
  }
}

/** No OPEN cycle within `weeks` weeks after an item's own: the calendar, not the data, is wrong.
 * Not retriable: the walk would end the same way. */
export class NoOpenCycleError extends StsError {
  constructor(region: string, natural: bigint, weeks: number) {
    super(
      'STS_NO_OPEN_CYCLE',
      `no open cycle within ${weeks} weeks after ${natural} in ${region}`,
      { context: { region, cycleId: natural } },
    );
  }
}
