import type { Knex } from 'knex';

/**
 * The indexes the daily effect rules read through (services/recon/rules/daily-take-rate.ts and
 * daily-avg-payout.ts). Each rule sums one region's local day at a time:
 *
 *   commission_charge WHERE region = ? AND created_at >= ? AND created_at < ? GROUP BY currency
 *   payout            WHERE region = ? AND created_at >= ? AND created_at < ?
 *                       AND status <> 'CARRIED_FORWARD' AND amount_minor > 0 GROUP BY currency
 *
 * Neither table had an index on time: commission_charge is keyed by (region, order_id), and order
 * ids are upstream's, not minted in time order, so a day would be a scan of the region's every
 * charge; payout's keys lead with status or cycle. A run reads each region's last days and the
 * same weekdays of the previous weeks, every few minutes, so each read must be one index range.
 *
 * Both indexes carry the columns the sums read after the range columns, so they are covering: a
 * day of a million charges is read sequentially from the index, with no lookup into the rows.
 * The cost is one more index entry per charge (about 40 bytes) written with it, and on payout an
 * entry moved on each status change, a few per payout a week.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('commission_charge', (t) => {
    t.index(
      ['region', 'created_at', 'currency', 'order_amount_minor', 'fee_minor'],
      'ix_commission_charge_day',
    );
  });
  await knex.schema.alterTable('payout', (t) => {
    t.index(['region', 'created_at', 'currency', 'status', 'amount_minor'], 'ix_payout_region_day');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('payout', (t) =>
    t.dropIndex(
      ['region', 'created_at', 'currency', 'status', 'amount_minor'],
      'ix_payout_region_day',
    ),
  );
  await knex.schema.alterTable('commission_charge', (t) =>
    t.dropIndex(
      ['region', 'created_at', 'currency', 'order_amount_minor', 'fee_minor'],
      'ix_commission_charge_day',
    ),
  );
}
