import { rows } from '../recon-sql';
import type { ReconRule } from '../recon-types';

/**
 * Rule 8 (docs/DESIGN.md, lesson 6): an event written to the outbox reaches Kafka within
 * `outboxMaxAgeMs` (STS_OUTBOX_MAX_AGE_MS, default 60 s). An older unpublished row means no relay
 * is publishing, so downstream teams never hear about payouts that exist. One finding per topic,
 * with the count and the oldest row. Fix: `republish-outbox` runs one relay pass.
 *
 * Rows the relay parked (too large for the broker, broken headers, or held behind such a row of
 * their key; outbox.parked_at and park_reason) are unpublished too and counted here: a relay
 * pass does not help them, an operator must fix the row and clear parked_at.
 *
 * Query: ref on ix_outbox_pending (published_at IS NULL): only unpublished rows are read, never
 * the published history.
 */
export const RULE = 'outbox-stuck';

export const STUCK_OUTBOX_SQL = `
SELECT topic, COUNT(*) AS n, MIN(created_at) AS oldest, CAST(MIN(id) AS CHAR) AS first_id,
       SUM(parked_at IS NOT NULL) AS parked
  FROM outbox WHERE published_at IS NULL AND created_at < ? GROUP BY topic ORDER BY topic`;

export const outboxStuck: ReconRule = {
  name: RULE,
  description: 'no outbox row unpublished for longer than STS_OUTBOX_MAX_AGE_MS',
  async check(ctx) {
    const cutoff = new Date(ctx.now.getTime() - ctx.options.outboxMaxAgeMs);
    const stuck = await rows<{
      topic: string;
      n: string | number;
      oldest: Date;
      first_id: string;
      parked: string | number | null;
    }>(ctx.db, STUCK_OUTBOX_SQL, [cutoff]);
    return stuck.map((s) => ({
      rule: RULE,
      severity: 'CRITICAL' as const,
      entity: `outbox/${s.topic}`,
      detail:
        `${s.n} event(s) for ${s.topic} unpublished for more than ${Math.round(ctx.options.outboxMaxAgeMs / 1000)} s; the oldest (row ${s.first_id}) since ${new Date(s.oldest).toISOString()}: is an outbox relay running (sts run)?` +
        (Number(s.parked ?? 0) > 0
          ? ` ${Number(s.parked)} of them parked by the relay as unpublishable: read outbox.park_reason, fix the row, then clear parked_at on its topic and key`
          : ''),
      fix: 'republish-outbox',
    }));
  },
};
