import type { Kafka } from 'kafkajs';
import type { Knex } from '../../runtime/db/knex';
import { PayoutUnresolvedError } from './payment-errors';
import type { Logger } from '../../runtime/logger';
import { DlqPublisher } from '../../runtime/processor/dlq-publisher';
import type { AvroCodec } from '../../runtime/registry/avro-codec';
import type { RegistryClient } from '../../runtime/registry/registry-client';
import { valueSubject } from '../../runtime/topology/types';
import type { PaymentMetrics } from './payment-metrics';

/**
 * Telling ops about a payout the machine cannot finish: still unknown after every attempt, or
 * refused by the gateway as malformed. Each escalation, once per payout:
 *   1. the payout event goes to `<topic>.dlq` with its original coordinates and the reason
 *      (the runtime's DLQ headers, so `sts dlq list` shows it like any dead letter);
 *   2. a log line at error, the metric sts_payment_escalations_total, and a JSON POST to the
 *      webhook (STS_ALERT_WEBHOOK_URL under `sts run`) when one is set;
 *   3. payout_submission.escalated_at is set, so the next attempt does not alert again.
 * The money stays in flight: marking the payout PAID or FAILED without the gateway's answer could
 * be wrong either way. A `blocked` escalation (a malformed request) is not checked again; an
 * unresolved one keeps being checked at the longest back-off, and finishes by itself if the
 * gateway answers later.
 *
 * The DLQ letter is published before escalated_at is set: a crash in between alerts twice (at
 * least once, like every DLQ here) rather than never.
 */

export interface EscalationDeps {
  db: Knex;
  kafka: Kafka;
  codec: AvroCodec;
  registry: RegistryClient;
  metrics: PaymentMetrics;
  logger: Logger;
  webhookUrl: string;
}

interface SubmissionRow {
  payout_id: string;
  cycle_id: string;
  region: string;
  shop_user_id: string;
  currency: string;
  amount_minor: string;
  created_at: Date;
  source_topic: string;
  source_partition: number;
  source_offset: string;
  escalated_at: Date | null;
  blocked: number;
}

export class Escalator {
  private readonly dlq: DlqPublisher;

  constructor(private readonly deps: EscalationDeps) {
    this.dlq = new DlqPublisher(deps.kafka, 'payment-compensator');
  }

  /** Alerts and dead-letters `payoutId` unless done before; `blocked` stops further checks. */
  async escalate(payoutId: bigint, error: PayoutUnresolvedError, blocked: boolean): Promise<void> {
    const { db, logger, metrics } = this.deps;
    const [rows] = (await db.raw(
      `SELECT CAST(p.id AS CHAR) AS payout_id, CAST(p.cycle_id AS CHAR) AS cycle_id, p.region,
              CAST(p.shop_user_id AS CHAR) AS shop_user_id, p.currency,
              CAST(p.amount_minor AS CHAR) AS amount_minor, p.created_at, s.source_topic,
              s.source_partition, CAST(s.source_offset AS CHAR) AS source_offset, s.escalated_at, s.blocked
         FROM payout p JOIN payout_submission s ON s.payout_id = p.id
        WHERE p.id = ${payoutId.toString()}`,
    )) as [SubmissionRow[]];
    const row = rows[0];
    if (!row) return;
    if (row.escalated_at === null) {
      await this.deadLetter(row, error);
      metrics.escalations.inc({ code: error.code });
      logger.error(
        {
          payoutId,
          code: error.code,
          err: error,
          topic: row.source_topic,
          partition: row.source_partition,
          offset: row.source_offset,
        },
        'payout escalated to ops: alerted and dead-lettered',
      );
      await this.notify(row, error);
    }
    await db.raw(
      `UPDATE payout_submission SET escalated_at = COALESCE(escalated_at, NOW(3)),
              escalation_code = COALESCE(escalation_code, ?), blocked = blocked OR ?
        WHERE payout_id = ${payoutId.toString()}`,
      [error.code, blocked],
    );
  }

  async close(): Promise<void> {
    await this.dlq.close();
  }

  private async deadLetter(row: SubmissionRow, error: PayoutUnresolvedError): Promise<void> {
    const schemaId = await this.deps.registry.latestId(valueSubject(row.source_topic));
    const eventId = `payout-escalation:${row.payout_id}`;
    const value = await this.deps.codec.encode(schemaId, {
      event_id: eventId,
      payout_id: BigInt(row.payout_id),
      cycle_id: BigInt(row.cycle_id),
      region: row.region,
      shop_user_id: BigInt(row.shop_user_id),
      currency: row.currency,
      amount_minor: BigInt(row.amount_minor),
      status: 'SUBMITTED',
      created_at: row.created_at,
    });
    await this.dlq.publish([
      {
        topic: row.source_topic,
        partition: row.source_partition,
        message: {
          key: Buffer.from(row.shop_user_id),
          value,
          timestamp: String(Date.now()),
          attributes: 0,
          offset: row.source_offset,
          headers: { 'sts-payout-id': row.payout_id },
        },
        error,
      },
    ]);
  }

  /** Best effort: an alert channel that is down must not stop the queue. */
  private async notify(row: SubmissionRow, error: PayoutUnresolvedError): Promise<void> {
    if (!this.deps.webhookUrl) return;
    try {
      const res = await fetch(this.deps.webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          alert: 'payout-unresolved',
          code: error.code,
          message: error.message,
          fix: error.fix,
          payout_id: row.payout_id,
          shop_user_id: row.shop_user_id,
          region: row.region,
          currency: row.currency,
          amount_minor: row.amount_minor,
        }),
        signal: AbortSignal.timeout(5000),
      });
      if (!res.ok) this.deps.logger.warn({ status: res.status }, 'alert webhook refused the alert');
    } catch (err) {
      this.deps.logger.warn({ err }, 'alert webhook unreachable');
    }
  }
}
