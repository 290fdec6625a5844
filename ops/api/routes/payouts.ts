import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '../../../runtime/errors';
import { currentPayees, payeeById } from '../../../runtime/payees/payee-registry';
import {
  cancelPayout,
  getPayout,
  releasePayout,
  type HoldDeps,
} from '../../../services/payouts/payout-holds';
import type { AppContext } from '../../../services/run/app-context';

/** Where release and cancel write their events; a test's or a benchmark's own topics. */
export type HoldRouteOptions = Pick<HoldDeps, 'payoutsTopic' | 'resultsTopic'>;

/**
 * One payout, and what an operator does with a held one (services/payouts/payout-holds.ts). The
 * list stays GET /payouts (routes/cycles.ts).
 *   GET  /payouts/:id          viewer    the payout, the payee account it is frozen to, and, while
 *                                        it is held, the seller's current account a release would pay
 *   POST /payouts/:id/release  operator  ON_HOLD -> PENDING, paid to the current payee account;
 *                                        refused (409) to the operator who last changed that account
 *   POST /payouts/:id/cancel   operator  ON_HOLD -> CANCELLED; the amount returns to the balance
 * A refusal is 409 STS_PAYOUT_ACTION_REFUSED with the reason and what to do instead.
 */
export function payoutRoutes(
  app: FastifyInstance,
  ctx: AppContext,
  opts: HoldRouteOptions = {},
): void {
  app.get<{ Params: { id: string } }>(
    '/payouts/:id',
    {
      config: { minRole: 'viewer' },
      schema: {
        summary: 'One payout',
        description:
          "The payout (amounts in minor units), `payee`: the payee account version it is frozen to (null until it has one), and `currentPayee`: the seller's current account for its currency, the one a release would pay (for the second operator to check).",
        tags: ['payouts'],
        params: idParams,
      },
    },
    async (req) => {
      const id = BigInt(req.params.id);
      const payout = await getPayout(ctx.db, id);
      if (!payout) throw new NotFoundError('payout', req.params.id);
      const payee =
        payout.payeeAccountId === null
          ? null
          : ((await payeeById(ctx.db, payout.payeeAccountId)) ?? null);
      const current = (
        await currentPayees(ctx.db, payout.currency, payout.shopUserId, payout.shopUserId)
      ).get(payout.shopUserId);
      return { payout, payee, currentPayee: current ?? null };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/payouts/:id/release',
    {
      config: { minRole: 'operator' },
      schema: {
        summary: 'Release a held payout',
        description:
          "An ON_HOLD payout becomes PENDING, frozen to the seller's current payee account, and its PENDING event goes out. 409 STS_PAYOUT_ACTION_REFUSED when it is not ON_HOLD, is held for CARRY_LIMIT, is below the minimum transfer, the seller has no payee account, or the caller is the operator who last changed that account (four eyes).",
        tags: ['payouts'],
        params: idParams,
      },
    },
    async (req) =>
      releasePayout(
        { db: ctx.db, outbox: ctx.outbox, payoutsTopic: opts.payoutsTopic },
        BigInt(req.params.id),
        { name: `api:${req.principal!.name}`, fourEyes: true },
      ),
  );

  app.post<{ Params: { id: string } }>(
    '/payouts/:id/cancel',
    {
      config: { minRole: 'operator' },
      schema: {
        summary: 'Cancel a held payout',
        description:
          "An ON_HOLD payout becomes CANCELLED and is never paid; its amount returns to the seller's balance in the region's open cycle (a PAYOUT_RETURN item) and a FAILED result with failure code CANCELLED goes out. 409 STS_PAYOUT_ACTION_REFUSED when it is not ON_HOLD, is held for CARRY_LIMIT, or is not a positive amount.",
        tags: ['payouts'],
        params: idParams,
      },
    },
    async (req) => ({
      payout: await cancelPayout(
        { db: ctx.db, outbox: ctx.outbox, ids: await ctx.ids(), resultsTopic: opts.resultsTopic },
        BigInt(req.params.id),
        { name: `api:${req.principal!.name}`, fourEyes: true },
      ),
    }),
  );
}

const idParams = {
  type: 'object',
  required: ['id'],
  properties: {
    id: { type: 'string', pattern: '^[0-9]{1,19}$', description: 'the payout id, decimal' },
  },
} as const;
