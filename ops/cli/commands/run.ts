import type { Command } from 'commander';
import { loadConfig } from '../../../runtime/config';
import { SingleActive } from '../../../runtime/db/single-active';
import { ConfigError } from '../../../runtime/errors';
import { OutboxRelay } from '../../../runtime/outbox/outbox-relay';
import { runProcessor, type ProcessorHandle } from '../../../runtime/processor/processor';
import { installShutdown, type Stoppable } from '../../../runtime/processor/shutdown';
import { BankRailWorker } from '../../../settlement/bank-file/bank-rail-worker';
import { CloseScheduler } from '../../../settlement/cycle-close/close-scheduler';
import { buildOpsApi } from '../../api/ops-api';
import { createAppContext } from '../../../services/run/app-context';
import { PROCESSOR_CATALOG } from '../../../services/run/processor-catalog';
import { heapUncapped, PROCESSOR_HEAP_MB, tuneHeapGrowth } from '../../../services/run/processor-heap';
import { ReconRunner } from '../../../services/recon/recon-runner';
import { ReconScheduler } from '../../../services/recon/recon-scheduler';

/**
 * `sts run all | <processor…>`: processors and the outbox relay in the foreground until SIGTERM;
 * `all` adds the ops API, reconciliation every STS_RECON_INTERVAL_MS, the bank-file rail (files
 * out, status reports in, every STS_BANK_POLL_MS) and, when STS_CLOSE_SCHEDULE names regions, the
 * cycle-close scheduler.
 * SIGTERM finishes each batch in flight, commits it and leaves the groups. Prints `ready` on stdout
 * once every consumer has joined, for scripts and tests that wait for it.
 */
export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description(`run processors and the outbox relay in the foreground; processors: ${Object.keys(PROCESSOR_CATALOG).join(', ')}`)
    .argument('<processors...>', '"all" or processor names')
    .option('--no-relay', 'do not run the outbox relay in this process')
    .option('--no-api', 'with "all": do not serve the ops API and dashboard')
    .action(async (names: string[], opts: { relay: boolean; api: boolean }) => {
      const all = names.includes('all');
      const selected = names.includes('all') ? Object.keys(PROCESSOR_CATALOG) : names;
      const unknown = selected.filter((n) => !(n in PROCESSOR_CATALOG));
      if (unknown.length > 0) throw new ConfigError(`unknown processor(s): ${unknown.join(', ')}`, `choose from: all, ${Object.keys(PROCESSOR_CATALOG).join(', ')}`);

      const ctx = createAppContext(loadConfig(), `sts-run`);
      tuneHeapGrowth();
      if (heapUncapped()) ctx.logger.warn({ hint: `NODE_OPTIONS=--max-old-space-size=${PROCESSOR_HEAP_MB}` }, 'no heap cap: V8 will let garbage grow to hundreds of MB; start processors with the hint (docs/OPERATIONS.md)');
      const ids = await ctx.ids();
      const handles: Stoppable[] = [];
      const processors: ProcessorHandle[] = [];
      for (const name of selected) {
        const def = PROCESSOR_CATALOG[name]!({ ids, config: ctx.config });
        processors.push(await runProcessor(def, { config: ctx.config, db: ctx.db, kafka: ctx.kafka, codec: ctx.codec, outbox: ctx.outbox, logger: ctx.logger }, runOverrides(ctx.config.processorSessionTimeoutMs)));
      }
      handles.push(...processors);
      if (opts.relay) {
        const relay = new OutboxRelay({ db: ctx.db, kafka: ctx.kafka, logger: ctx.logger });
        await relay.start();
        handles.push(relay);
      }
      if (all && ctx.config.closeSchedule.length > 0) {
        const scheduler = new CloseScheduler({ db: ctx.db, kafka: ctx.kafka, ids, outbox: ctx.outbox, dataDir: ctx.config.dataDir, payoutFilesDir: ctx.config.payoutFilesDir, logger: ctx.logger }, ctx.config.closeSchedule);
        scheduler.start();
        handles.push(scheduler);
      }
      if (all) {
        // The bank-file rail: files out, the bank's reports in (a no-op where no region uses it).
        const bank = new BankRailWorker(
          { db: ctx.db, ids, outbox: ctx.outbox, dataDir: ctx.config.dataDir, payoutFilesDir: ctx.config.payoutFilesDir, outboundDir: ctx.config.bankOutboundDir, inboundDir: ctx.config.bankInboundDir, environment: ctx.config.environment, logger: ctx.logger },
          ctx.config.bankPollMs,
        );
        bank.start();
        handles.push(bank);
      }
      if (all && ctx.config.reconIntervalMs > 0) {
        // Reconciliation every STS_RECON_INTERVAL_MS (0 turns it off).
        const recon = new ReconScheduler(ReconRunner.fromConfig(ctx.config, { db: ctx.db, logger: ctx.logger }), ctx.config.reconIntervalMs, ctx.logger, new SingleActive(ctx.db, 'recon-scheduler', ctx.logger));
        recon.start();
        handles.push(recon);
      }
      if (all && opts.api) {
        const api = await buildOpsApi(ctx);
        await api.listen({ port: ctx.config.opsPort, host: '127.0.0.1' });
        ctx.logger.info({ port: ctx.config.opsPort }, 'ops API listening');
        handles.push({ stop: () => api.close() });
      }
      installShutdown([{ stop: async () => (await Promise.all(handles.map((h) => h.stop())), await ctx.close()) }], { logger: ctx.logger });
      process.stdout.write('ready\n');
      await new Promise<never>(() => undefined);
    });
}

/** Heartbeats at a sixth of the session timeout, and rebalances wait at least one session. */
function runOverrides(sessionTimeout: number) {
  return { sessionTimeout, heartbeatInterval: Math.max(500, Math.floor(sessionTimeout / 6)), rebalanceTimeout: Math.max(sessionTimeout, 6000) };
}
