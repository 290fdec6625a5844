import type { FastifyInstance } from 'fastify';
import { ValidationError } from '../../../runtime/errors';
import { REGIONS } from '../../../runtime/money/regions';
import {
  listPayees,
  payeeHistory,
  setPayee,
  type PayeeAccount,
} from '../../../runtime/payees/payee-registry';
import type { AppContext } from '../../../services/run/app-context';

/**
 * Sellers' payee accounts (runtime/payees/), as `sts payees` has them:
 *   GET /payees?currency&after&limit      viewer    current accounts, in seller order, a page at a time
 *   GET /payees/:seller?currency          viewer    every version, newest first, the current one marked
 *   PUT /payees/:seller/:currency         operator  register or change the account
 * A change is named `api:<token name>`; the ops API then refuses the release of that seller's
 * held payout by the same name (four eyes, services/payouts/payout-holds.ts), so the person who
 * changed an account cannot also send the first money to it.
 */
export function payeeRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get<{ Querystring: { currency?: string; after?: string; limit?: number } }>(
    '/payees',
    {
      config: { minRole: 'viewer' },
      schema: {
        summary: 'List current payee accounts',
        description:
          'Current payee accounts in seller order. A page never splits a seller: it may hold a few more than `limit` accounts; pass `next` as `after` for the following page (null on the last).',
        tags: ['payees'],
        querystring: listQuery,
      },
    },
    async (req) => {
      const limit = req.query.limit ?? 100;
      // A seller has at most one current account per currency, so reading this many more lets
      // the page end at a seller boundary, and `after` (a seller) then skips nobody.
      const extra = req.query.currency ? 0 : CURRENCIES - 1;
      const rows = await listPayees(ctx.db, {
        currency: req.query.currency,
        afterSeller:
          req.query.after === undefined ? undefined : sellerParam(req.query.after, 'after', 0n),
        limit: limit + extra + 1,
      });
      let end = Math.min(limit, rows.length);
      while (end < rows.length && rows[end]!.shopUserId === rows[end - 1]!.shopUserId) end++;
      const accounts = rows.slice(0, end);
      return { accounts, next: end < rows.length ? accounts[end - 1]!.shopUserId : null };
    },
  );

  app.get<{ Params: { seller: string }; Querystring: { currency?: string } }>(
    '/payees/:seller',
    {
      config: { minRole: 'viewer' },
      schema: {
        summary: "A seller's payee account history",
        description:
          "Every version of the seller's payee accounts, per currency newest first; `current` marks the one payouts are made to. An empty list when the seller has none.",
        tags: ['payees'],
        params: sellerParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { currency: { ...currency, description: 'only this currency' } },
        },
      },
    },
    async (req) => {
      const seller = sellerParam(req.params.seller);
      const history = await payeeHistory(ctx.db, seller, req.query.currency);
      return { shopUserId: seller, accounts: history.map(withCurrent) };
    },
  );

  app.put<{
    Params: { seller: string; currency: string };
    Body: { name: string; account: string; bank: string; country?: string };
  }>(
    '/payees/:seller/:currency',
    {
      config: { minRole: 'operator' },
      schema: {
        summary: "Register or change a seller's payee account",
        description:
          'Checked before it is stored (400 STS_PAYEE_INVALID says what a bank would refuse). A change adds a version and keeps the old one; the same details again change nothing (`changed: false`). The next payout of a changed account is held for STS_PAYEE_COOLOFF_HOURS, and only an operator other than this one may release it.',
        tags: ['payees'],
        params: {
          type: 'object',
          required: ['seller', 'currency'],
          properties: { ...sellerParams.properties, currency },
        },
        body: putBody,
      },
      preValidation: async (req) => checkPutBody(req.body),
    },
    async (req) => {
      const seller = sellerParam(req.params.seller);
      const { name, account, bank, country } = req.body;
      const result = await setPayee(
        ctx.db,
        seller,
        {
          currency: req.params.currency,
          holderName: name,
          account,
          bankId: bank,
          ...(country === undefined ? {} : { country }),
        },
        `api:${req.principal!.name}`,
      );
      return { changed: result.changed, account: withCurrent(result.account) };
    },
  );
}

const CURRENCIES = new Set(Object.values(REGIONS).map((r) => r.currency)).size;

const withCurrent = (a: PayeeAccount) => ({ ...a, current: a.replacedAt === null });

/** Sellers are BIGINT: the pattern keeps the text to digits, this keeps the value in range. */
function sellerParam(text: string, name = 'seller', min = 1n): bigint {
  const v = BigInt(text);
  if (v < min || v >= 2n ** 63n)
    throw new ValidationError(`${name} ${text} is not a seller id (${min} to 2^63 - 1)`, {
      field: name,
    });
  return v;
}

const currency = {
  type: 'string',
  pattern: '^[A-Z]{3}$',
  description: 'ISO 4217 currency, e.g. SGD',
} as const;

const sellerParams = {
  type: 'object',
  required: ['seller'],
  properties: {
    seller: {
      type: 'string',
      pattern: '^[0-9]{1,19}$',
      description: 'the seller (shop_user_id), decimal',
    },
  },
} as const;

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    currency: { ...currency, description: 'only this currency' },
    after: {
      type: 'string',
      pattern: '^[0-9]{1,19}$',
      description: 'the `next` of the previous page: sellers after this one',
    },
    limit: {
      type: 'integer',
      minimum: 1,
      maximum: 1000,
      default: 100,
      description: 'accounts per page (a page ends at a seller boundary)',
    },
  },
} as const;

/**
 * Fastify's validator bends a body to its schema instead of refusing it: it drops unknown
 * properties (removeAdditional) and turns numbers into strings (coerceTypes). Either would store
 * an account nobody sent: a misspelt `country` dropped puts the account under the currency's own
 * country, and `"account": 12345678901234567890` arrives as 12345678901234567000 once JSON has
 * made it a double. So both are refused here, before the validator sees the body.
 */
function checkPutBody(body: unknown): void {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return; // the schema's 400
  const fields = Object.keys(putBody.properties);
  const unknown = Object.keys(body).filter((k) => !fields.includes(k));
  if (unknown.length > 0)
    throw new ValidationError(
      `body has unknown field ${unknown
        .slice(0, 3)
        .map((k) => JSON.stringify(k.slice(0, 40)))
        .join(', ')}; it takes ${fields.join(', ')}`,
      { field: 'body' },
    );
  const notText = fields.filter(
    (k) => k in body && typeof (body as Record<string, unknown>)[k] !== 'string',
  );
  if (notText.length > 0)
    throw new ValidationError(
      `not a JSON string: ${notText.join(', ')} (an account number sent as a JSON number loses digits)`,
      { field: notText[0] },
    );
}

const putBody = {
  type: 'object',
  required: ['name', 'account', 'bank'],
  additionalProperties: false,
  properties: {
    // Caps above what the checker allows, so an over-long value gets the checker's own message.
    name: {
      type: 'string',
      minLength: 1,
      maxLength: 560,
      description: "the holder's name, as the bank has it (1 to 140 characters)",
    },
    account: {
      type: 'string',
      minLength: 1,
      maxLength: 64,
      description: 'an IBAN where the country uses them (spaces allowed), else the account number',
    },
    bank: {
      type: 'string',
      minLength: 1,
      maxLength: 64,
      description: 'a BIC, or the local bank clearing code',
    },
    country: {
      type: 'string',
      minLength: 1,
      maxLength: 8,
      description: "ISO 3166 alpha-2 country of the account's bank; default: the currency's region",
    },
  },
} as const;
