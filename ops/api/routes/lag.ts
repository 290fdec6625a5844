import type { FastifyInstance } from 'fastify';
import { register as defaultRegistry, Registry } from 'prom-client';
import { SingleActive } from '../../../runtime/db/single-active';
import { settlementTopology } from '../../../topologies/settlement';
import type { AppContext } from '../../../services/run/app-context';
import { LagMonitor, type LagMonitorOptions } from '../../../services/lag/lag-monitor';
import { topologyTargets, type LagTarget } from '../../../services/lag/lag-sampler';
import { lagJson } from '../../../services/lag/lag-view';

export interface LagRouteOptions {
  /** Group/topic pairs watched besides the topology's processor groups. */
  targets?: LagTarget[];
  monitor?: Partial<LagMonitorOptions>;
}

/**
 * GET /lag (viewer): the lag monitor's latest report, as `sts lag --json` prints it.
 * GET /metrics (viewer): Prometheus text, the lag gauges plus the process's default registry
 * (processor and relay metrics when `sts run all` serves this API).
 *
 * /metrics needs a viewer token like every other data route: group and topic names and traffic
 * figures are not public, and Prometheus sends a bearer token with `authorization:
 * { credentials_file: ... }` in its scrape config.
 *
 * The monitor starts with the API when STS_ALERT_WEBHOOK_URL is set (it must keep watching to
 * alert), otherwise at the first /lag or /metrics request, and then keeps sampling so rates,
 * STALLED and WARNING have a window to work with.
 */
export function lagRoutes(app: FastifyInstance, ctx: AppContext, opts: LagRouteOptions = {}): void {
  const targets = [...topologyTargets(settlementTopology), ...(opts.targets ?? [])];
  const alert = {
    webhookUrl: ctx.config.alertWebhookUrl,
    alertAfterMs: ctx.config.lagAlertAfterMs,
  };
  const monitor = new LagMonitor(
    {
      kafka: ctx.kafka,
      logger: ctx.logger.child({ component: 'lag-monitor' }),
      alert,
      // Every instance's API serves /lag; one of them posts the alerts.
      alertRole: alert.webhookUrl ? new SingleActive(ctx.db, 'lag-alerts', ctx.logger) : undefined,
    },
    targets,
    opts.monitor,
  );

  const current = async () => {
    monitor.start();
    return monitor.latest() ?? (await monitor.sampleOnce());
  };

  if (alert.webhookUrl) app.addHook('onReady', async () => monitor.start());
  app.addHook('onClose', async () => monitor.stop());

  app.get('/lag', { config: { minRole: 'viewer' } }, async () => lagJson(await current()));

  app.get('/metrics', { config: { minRole: 'viewer' } }, async (_req, reply) => {
    await current();
    const merged = Registry.merge([defaultRegistry, monitor.metrics.registry]);
    return reply.header('content-type', merged.contentType).send(await merged.metrics());
  });
}
