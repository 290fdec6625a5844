import type { Command } from 'commander';
import { loadConfig } from '../../../runtime/config';
import { ConfigError } from '../../../runtime/errors';
import { OutboxRelay } from '../../../runtime/outbox/outbox-relay';
import { runProcessor, type ProcessorHandle } from '../../../runtime/processor/processor';
import { installShutdown, type Stoppable } from '../../../runtime/processor/shutdown';
import { createAppContext } from '../../run/app-context';
import { PROCESSOR_CATALOG } from '../../run/processor-catalog';

/**
 * `sts run all | <processor…>`: processors and the outbox relay in the foreground until SIGTERM,
 * which finishes each batch in flight, commits it and leaves the groups. Prints `ready` on stdout
 * once every consumer has joined, for scripts and tests that wait for it.
 */
export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description(`run processors and the outbox relay in the foreground; processors: ${Object.keys(PROCESSOR_CATALOG).join(', ')}`)
    .argument('<processors...>', '"all" or processor names')
    .option('--no-relay', 'do not run the outbox relay in this process')
    .action(async (names: string[], opts: { relay: boolean }) => {
      const selected = names.includes('all') ? Object.keys(PROCESSOR_CATALOG) : names;
      const unknown = selected.filter((n) => !(n in PROCESSOR_CATALOG));
      if (unknown.length > 0) throw new ConfigError(`unknown processor(s): ${unknown.join(', ')}`, `choose from: all, ${Object.keys(PROCESSOR_CATALOG).join(', ')}`);

      const ctx = createAppContext(loadConfig(), `sts-run`);
      const ids = await ctx.ids();
      const handles: Stoppable[] = [];
      const processors: ProcessorHandle[] = [];
      for (const name of selected) {
        const def = PROCESSOR_CATALOG[name]!({ ids });
        processors.push(await runProcessor(def, { config: ctx.config, db: ctx.db, kafka: ctx.kafka, codec: ctx.codec, outbox: ctx.outbox, logger: ctx.logger }, runOverrides(ctx.config.processorSessionTimeoutMs)));
      }
      handles.push(...processors);
      if (opts.relay) {
        const relay = new OutboxRelay({ db: ctx.db, kafka: ctx.kafka, logger: ctx.logger });
        await relay.start();
        handles.push(relay);
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
