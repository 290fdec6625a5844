import type { Kafka } from 'kafkajs';
import type { Knex } from '../../runtime/db/knex';
import { LockUnavailableError } from '../../runtime/db/db-errors';
import { ReconFixRefusedError } from './recon-errors';
import type { Logger } from '../../runtime/logger';
import { formatMoney, formatMoneyText } from '../../runtime/money/money-text';
import { OutboxRelay } from '../../runtime/outbox/outbox-relay';
import { rows } from './recon-sql';

/**
 * The documented fixes an operator can trigger on a finding (`sts recon fix`, POST /recon/fix).
 * Each one repairs derived data from its source of truth, or nudges a component that should have
 * done the work; none edits source data (billing items, payouts), which only the pipeline and
 * uploads may change.
 */
export interface FixDeps {
  db: Knex;
  logger: Logger;
  /** Needed by republish-outbox only. */
  kafka?: Kafka;
}

export interface ReconFix {
  /** The rule whose findings it repairs. */
  rule: string;
  description: string;
  apply(deps: FixDeps, entity: string): Promise<string>;
}

export const RECON_FIXES: Readonly<Record<string, ReconFix>> = {
  'resync-account': {
    rule: 'open-cycle-account',
    description: "recompute an OPEN cycle's settlement_account row from its billing items",
    apply: resyncAccount,
  },
  'republish-outbox': {
    rule: 'outbox-stuck',
    description: 'run one outbox relay pass, publishing the oldest unpublished rows',
    apply: republishOutbox,
  },
};

const ACCOUNT_ENTITY = /^([A-Z]{2})\/(\d{8})\/(\d{1,19})\/([A-Z]{3})$/;

/**
 * Sets the account row to the sum and count of its items, in one transaction:
 *   1. the cycle row under a shared lock, as item writers take it (cycle-resolver.ts): the close
 *      cannot flip it to CLOSING until we commit, and a cycle that is no longer OPEN is refused,
 *      because its payouts are (being) snapshotted from this row;
 *   2. the account row FOR UPDATE: writers add to it with INSERT ... ON DUPLICATE KEY UPDATE, so
 *      a batch with items for this account waits for us;
 *   3. the items summed under READ COMMITTED, after the lock. A writer that committed before it
 *      is in the sum; one still waiting adds its own delta on top of our absolute value after we
 *      commit, because its items and its increment commit together.
 */
async function resyncAccount(deps: FixDeps, entity: string): Promise<string> {
  const m = ACCOUNT_ENTITY.exec(entity);
  if (!m)
    throw new ReconFixRefusedError(
      `${entity} does not name an account (REGION/CYCLE/SELLER/CURRENCY)`,
      { entity },
    );
  const [, region, cycle, shop, currency] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
  ];
  const cycleId = BigInt(cycle);
  const shopUserId = BigInt(shop);
  return deps.db.transaction(
    async (trx) => {
      const cycleRow = await rows<{ status: string }>(
        trx,
        'SELECT status FROM settlement_cycle WHERE region = ? AND cycle_id = ? LOCK IN SHARE MODE',
        [region, cycleId],
      );
      const status = cycleRow[0]?.status;
      if (status !== 'OPEN') {
        throw new ReconFixRefusedError(
          `cycle ${cycle} of ${region} is ${status ?? 'unknown'}, not OPEN: its payouts are taken from this account, so it is not rewritten`,
          { entity },
          'correct a closed cycle with an adjustment upload into the open cycle (docs/UPLOADS.md)',
        );
      }
      const key = [region, shopUserId, currency, cycleId];
      const before = await rows<{ balance: string; n: string }>(
        trx,
        'SELECT CAST(balance_minor AS CHAR) AS balance, CAST(item_count AS CHAR) AS n FROM settlement_account WHERE region = ? AND shop_user_id = ? AND currency = ? AND cycle_id = ? FOR UPDATE',
        key,
      );
      const [sum] = await rows<{ total: string; n: string | number }>(
        trx,
        'SELECT CAST(COALESCE(SUM(amount_minor), 0) AS CHAR) AS total, COUNT(*) AS n FROM billing_item WHERE region = ? AND cycle_id = ? AND shop_user_id = ? AND currency = ?',
        [region, cycleId, shopUserId, currency],
      );
      const total = BigInt(sum!.total);
      const count = BigInt(sum!.n);
      await rows(
        trx,
        `INSERT INTO settlement_account (region, shop_user_id, currency, cycle_id, balance_minor, item_count) VALUES (?, ?, ?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE balance_minor = VALUES(balance_minor), item_count = VALUES(item_count), updated_at = CURRENT_TIMESTAMP(3)`,
        [...key, total, count],
      );
      const was = before[0] ? `${before[0].balance} from ${before[0].n} items` : 'no row';
      deps.logger.info(
        { entity, was, total, count },
        'settlement_account resynced from its billing items',
      );
      const shown = before[0] ? `${formatMoneyText(before[0].balance, currency)} from ${before[0].n} items` : 'no row';
      return `settlement_account ${entity}: ${shown} -> ${formatMoney(total, currency)} from ${count} items`;
    },
    { isolationLevel: 'read committed' },
  );
}

/**
 * One OutboxRelay pass (runOnce): the same code path, lock and ordering as the running relay, so
 * a nudge can never publish out of order or twice at once. Resetting published_at would not help
 * (a stuck row has none) and could re-send rows consumers already have. When another relay holds
 * the lock it is publishing already, and the fix says so instead of competing with it.
 */
async function republishOutbox(deps: FixDeps, entity: string): Promise<string> {
  if (!entity.startsWith('outbox/'))
    throw new ReconFixRefusedError(`${entity} does not name an outbox topic (outbox/<topic>)`, {
      entity,
    });
  if (!deps.kafka)
    throw new ReconFixRefusedError(
      'republish-outbox needs a Kafka client; run it from `sts recon fix` or the ops API',
      { entity },
    );
  const relay = new OutboxRelay({ db: deps.db, kafka: deps.kafka, logger: deps.logger });
  try {
    const published = await relay.runOnce();
    return `one relay pass published ${published} outbox row(s), oldest first (all topics, in order)`;
  } catch (err) {
    if (err instanceof LockUnavailableError) {
      throw new ReconFixRefusedError(
        'another outbox relay is active and owns publishing',
        { entity },
        'that relay publishes these rows; if they stay, read its log (sts run) for the failing batch',
      );
    }
    throw err;
  } finally {
    await relay.stop();
  }
}
