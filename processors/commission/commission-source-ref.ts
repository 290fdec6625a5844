import crypto from 'node:crypto';

/**
 * The billing items one request can write, each with its own item type. The type's sign is the
 * seller's (or affiliate's) point of view: a fee is a debit, a credit or a returned fee a credit.
 */
export const ITEM_PARTS = {
  FEE: 'COMMISSION_FEE',
  AFFILIATE: 'AFFILIATE_COMMISSION',
  FEE_CLAWBACK: 'COMMISSION_FEE_CLAWBACK',
  AFFILIATE_CLAWBACK: 'AFFILIATE_COMMISSION_CLAWBACK',
} as const;
export type ItemPart = keyof typeof ITEM_PARTS;

/** billing_item.source for every commission item. */
export const COMMISSION_SOURCE = 'COMMISSION';

const SOURCE_REF_MAX = 128;

/**
 * The item's idempotency key, `<request_id>:<part>`: a redelivered request rebuilds the same key
 * and the ledger's unique (region, source, source_ref) finds the item already there. A request id
 * too long to fit billing_item.source_ref (128) with its suffix is replaced by its SHA-256, which
 * is just as deterministic; truncating instead could make two long ids share a key.
 *
 * A request id that itself reads `sha256:<64 hex digits>` is hashed too: kept readable, its key
 * would be exactly the hashed key of the long id with that digest, and the second request's
 * items would be taken for the first's. Every other readable key has no `sha256:<hex>:` shape,
 * so the two forms never meet (the part is the text after the last colon, so it is unambiguous).
 */
export function commissionSourceRef(requestId: string, part: ItemPart): string {
  const ref = `${requestId}:${part}`;
  if (ref.length <= SOURCE_REF_MAX && !DIGEST_SHAPED.test(requestId)) return ref;
  return `sha256:${crypto.createHash('sha256').update(requestId, 'utf8').digest('hex')}:${part}`;
}
const DIGEST_SHAPED = /^sha256:[0-9a-f]{64}$/;
