import { StsError, type ErrorContext } from '../../runtime/errors';

/**
 * Errors of commission rules and charges. Each class raises one code of the closed set in
 * runtime/error-codes.ts, on the root class StsError (runtime/errors.ts).
 */

/** A commission rule is malformed (rate, min/max, dates). Never retriable: the input must change. */
export class CommissionRuleInvalidError extends StsError {
  constructor(problems: string[], context: ErrorContext = {}) {
    super('STS_COMMISSION_RULE_INVALID', `commission rule is invalid: ${problems.join('; ')}`, {
      context: { ...context, problems },
      fix: 'rate-bps 0..10000, 0 <= min <= max, and --to after --from (ISO 8601, UTC)',
    });
  }
}

/** A new rule version's dates overlap another version of the same region and category. */
export class CommissionRuleOverlapError extends StsError {
  constructor(region: string, category: string, otherVersion: number, context: ErrorContext = {}) {
    super(
      'STS_COMMISSION_RULE_OVERLAP',
      `the dates overlap version ${otherVersion} of ${region}/${category}`,
      {
        context: { ...context, region, category, otherVersion },
        fix: `pick dates outside version ${otherVersion} (sts rules list --region ${region})`,
      },
    );
  }
}

/**
 * A new rule version raised warnings (processors/commission/rule-warnings.ts) and the operator did
 * not confirm them: nothing was written. `warnings` carries each one, for the CLI and the API.
 */
export class CommissionRuleUnconfirmedError extends StsError {
  constructor(
    readonly warnings: ReadonlyArray<{ kind: string; message: string }>,
    context: ErrorContext = {},
  ) {
    super(
      'STS_COMMISSION_RULE_UNCONFIRMED',
      `the rule was not written: ${warnings.length} warning(s) to confirm: ${warnings.map((w) => w.message).join('; ')}`,
      {
        context: { ...context, warnings },
        fix: 'check the warnings, then add --confirm-warnings (API: "confirm": true) to write it anyway',
      },
    );
  }
}

/** No rule, not even the region's '*' default, is effective when the order happened. Not
 * retriable: it would stall the partition until someone adds a rule; replay the DLQ instead. */
export class CommissionRuleMissingError extends StsError {
  constructor(region: string, category: string, at: Date, context: ErrorContext = {}) {
    super(
      'STS_COMMISSION_RULE_MISSING',
      `no commission rule for ${region}/${category} (nor ${region}/*) at ${at.toISOString()}`,
      {
        context: { ...context, region, category, at: at.toISOString() },
        fix: `add one with \`sts rules add --region ${region} --category '*' ...\`, then \`sts dlq replay\``,
      },
    );
  }
}

/** A clawback arrived for an order whose charge was never recorded (out of order, or older than
 * the system). Not retriable and never guessed: the fee it returns depends on that charge. */
export class CommissionChargeUnknownError extends StsError {
  constructor(region: string, orderId: bigint, context: ErrorContext = {}) {
    super(
      'STS_COMMISSION_CHARGE_UNKNOWN',
      `no commission charge recorded for order ${orderId} in ${region}`,
      {
        context: { ...context, region, orderId: orderId.toString() },
        fix: "replay it from the DLQ once the order's CHARGE is processed (sts dlq replay); if it predates the system, settle it by upload",
      },
    );
  }
}

/** A commission request disagrees with what is recorded for its order (another seller, currency,
 * or a second CHARGE). Rejected, never guessed (docs/DESIGN.md, lesson 2). */
export class CommissionConflictError extends StsError {
  constructor(detail: string, context: ErrorContext = {}) {
    super('STS_COMMISSION_CONFLICT', detail, {
      context,
      fix: 'compare the request with commission_charge for the order; fix the upstream event, then replay',
    });
  }
}
