import crypto from 'node:crypto';
import { z } from 'zod';
import type { PayoutInstructionWire } from '../../runtime/gateway/gateway-wire';

/**
 * What the simulator accepts on POST /v1/payouts, and the fingerprint that tells "the same
 * request again" from "a different payout under a reused key".
 *
 * Ids and amounts must be JSON strings of decimal digits; a JSON number is refused (400) because
 * by the time a number reaches us its digits above 2^53 are already gone.
 */

const INT64_MAX = (1n << 63n) - 1n;

const int64Id = z
  .string()
  .regex(
    /^[1-9]\d{0,18}$/,
    'must be a positive decimal integer string, for example "652024209997893632"',
  )
  .refine((s) => BigInt(s) <= INT64_MAX, 'must fit a signed 64-bit integer');

export const payoutInstructionSchema = z
  .object({
    payout_id: int64Id,
    shop_user_id: int64Id,
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as "SGD"'),
    // No upper bound: the gateway settles whatever the ledger owes; BigInt keeps every digit.
    amount_minor: z
      .string()
      .regex(/^[1-9]\d*$/, 'must be a positive decimal integer string in minor units'),
    account: z.string().min(1).max(64),
  })
  .strict();

export const idempotencyKeySchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

export type PayoutInstruction = z.infer<typeof payoutInstructionSchema>;

/** The first problem with a body or key, in one line for a 400 answer. */
export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  const field = issue?.path.join('.') || 'body';
  return `${field}: ${issue?.message ?? 'invalid'}`;
}

/**
 * Hash of the canonical instruction. Amounts go through BigInt so the comparison is on the value,
 * never on a float; field order is fixed so key order in the JSON body does not matter.
 */
export function fingerprint(p: PayoutInstructionWire): string {
  const canonical = [
    p.payout_id,
    p.shop_user_id,
    p.currency,
    BigInt(p.amount_minor).toString(),
    p.account,
  ].join('\u0000');
  return crypto.createHash('sha256').update(canonical).digest('hex');
}
