import { AlertDeliveryError } from './lag-errors';
import type { Logger } from '../../runtime/logger';
import type { GroupReport, LagStatus } from './lag-evaluator';

/**
 * Lag alerts by webhook (STS_ALERT_WEBHOOK_URL). An episode starts when a group/topic leaves OK
 * and ends when it is OK again; moving between WARNING, STALLED and STOPPED stays one episode.
 * The alert is posted once per episode, after the group has been not-OK for alertAfterMs, and a
 * "resolved" post follows when the episode ends, but only if its alert was delivered: nobody
 * wants a resolution of something they were never told about.
 *
 * A failed post (timeout, non-2xx) is retried at the next report, so a receiver that blinks
 * still gets the alert, late rather than never.
 *
 * Body (JSON): { event: "lag.alert" | "lag.resolved", group, topic, status, reason, since,
 * durationMs, lag (decimal string), lagSeconds, text }. `text` is one human line, so a Slack or
 * Mattermost incoming webhook shows it as is.
 */

export interface LagAlertBody {
  event: 'lag.alert' | 'lag.resolved';
  group: string;
  topic: string;
  status: LagStatus;
  reason: string;
  /** When the episode started (ISO 8601). */
  since: string;
  durationMs: number;
  lag: string;
  lagSeconds: number;
  text: string;
}

interface Episode {
  since: number;
  /** The alert was delivered; a resolution is owed. */
  alerted: boolean;
}

export interface AlerterOptions {
  webhookUrl: string;
  alertAfterMs: number;
  /** Per post; a receiver slower than this counts as a failed delivery. */
  timeoutMs?: number;
}

export class LagAlerter {
  private readonly episodes = new Map<string, Episode>();
  /** Resolutions whose post failed; retried at the next report. */
  private readonly owed = new Map<string, LagAlertBody>();

  constructor(
    private readonly opts: AlerterOptions,
    private readonly logger: Logger,
  ) {}

  /** Feeds one round of reports; resolves once every post due has been attempted. */
  async observe(reports: GroupReport[], now: number = Date.now()): Promise<void> {
    for (const [key, body] of this.owed) if (await this.post(body)) this.owed.delete(key);
    for (const r of reports) {
      const key = `${r.group}\u0000${r.topic}`;
      let episode = this.episodes.get(key);
      if (r.status === 'OK') {
        if (episode?.alerted) {
          const body = this.body('lag.resolved', r, episode, now);
          if (!(await this.post(body))) this.owed.set(key, body);
        }
        this.episodes.delete(key);
        continue;
      }
      if (!episode) this.episodes.set(key, (episode = { since: now, alerted: false }));
      if (!episode.alerted && now - episode.since >= this.opts.alertAfterMs) {
        this.owed.delete(key);
        episode.alerted = await this.post(this.body('lag.alert', r, episode, now));
      }
    }
  }

  private body(
    event: LagAlertBody['event'],
    r: GroupReport,
    e: Episode,
    now: number,
  ): LagAlertBody {
    const durationMs = now - e.since;
    const minutes = (durationMs / 60_000).toFixed(1);
    const text =
      event === 'lag.alert'
        ? `[sts] ${r.group} on ${r.topic} is ${r.status} for ${minutes} min: ${r.reason} (lag ${r.lag}, ${Math.round(r.lagSeconds)} s behind)`
        : `[sts] resolved: ${r.group} on ${r.topic} is OK again after ${minutes} min`;
    return {
      event,
      group: r.group,
      topic: r.topic,
      status: r.status,
      reason: r.reason,
      since: new Date(e.since).toISOString(),
      durationMs,
      lag: r.lag.toString(),
      lagSeconds: r.lagSeconds,
      text,
    };
  }

  /** True when the receiver answered 2xx. */
  private async post(body: LagAlertBody): Promise<boolean> {
    try {
      const res = await fetch(this.opts.webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 5000),
      });
      // Drain the body so the keep-alive socket goes back to the pool.
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) throw new AlertDeliveryError(`HTTP ${res.status} for ${body.event}`);
      this.logger.info(
        { event: body.event, group: body.group, topic: body.topic, status: body.status },
        'lag alert posted',
      );
      return true;
    } catch (err) {
      const e =
        err instanceof AlertDeliveryError
          ? err
          : new AlertDeliveryError((err as Error).message, err);
      this.logger.warn(
        { err: e, event: body.event, group: body.group },
        'lag alert not delivered; retrying at the next sample',
      );
      return false;
    }
  }
}
