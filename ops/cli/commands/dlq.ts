import os from 'node:os';
import type { Command } from 'commander';
import { loadConfig } from '../../../runtime/config';
import { ConfigError } from '../../../runtime/errors';
import { settlementTopology } from '../../../topologies/settlement';
import {
  DLQ_LIST_DEFAULTS,
  dlqTopicsFor,
  listDeadLetters,
  type DeadLetterView,
} from '../../../services/dlq/dlq-letters';
import { replayDeadLetters, type ReplayResult } from '../../../services/dlq/dlq-replay';
import { createAppContext } from '../../../services/run/app-context';
import { table, toJson } from '../output';

/**
 * `sts dlq list [--topic T] [--limit N]` and `sts dlq replay --topic T (--partition P --offset O
 * | --all)`. T is a topic or its DLQ (`T.dlq`); list without --topic covers every DLQ of the
 * topology. Replay publishes to the ORIGINAL topic and skips coordinates replayed before.
 */
export function registerDlqCommands(program: Command): void {
  const dlq = program.command('dlq').description('inspect and replay dead-lettered messages');

  dlq
    .command('list')
    .description(
      'dead letters with their origin, error and decoded payload (newest --limit per DLQ)',
    )
    .option('--topic <topic>', 'one topic, or its .dlq (default: every DLQ of the topology)')
    .option('--limit <n>', 'letters per DLQ topic, the newest', String(DLQ_LIST_DEFAULTS.limit))
    .option('--json', 'machine-readable output')
    .action(async (opts: { topic?: string; limit: string; json?: boolean }) => {
      const limit = wholeNumber('--limit', opts.limit);
      const ctx = createAppContext(loadConfig(), 'sts-dlq', { logLevel: 'warn' });
      try {
        const letters = await listDeadLetters(
          ctx,
          dlqTopicsFor(settlementTopology, opts.topic),
          limit,
        );
        if (opts.json) return void process.stdout.write(`${toJson(letters)}\n`);
        printLetters(letters);
      } finally {
        await ctx.close();
      }
    });

  dlq
    .command('replay')
    .description('publish dead letters back to their original topic (each DLQ coordinate once)')
    .requiredOption('--topic <topic>', 'the topic, or its .dlq')
    .option('--partition <p>', 'DLQ partition of the letter')
    .option('--offset <o>', 'DLQ offset of the letter')
    .option('--all', 'every letter of the DLQ not replayed yet')
    .option('--json', 'machine-readable output')
    .action(
      async (opts: {
        topic: string;
        partition?: string;
        offset?: string;
        all?: boolean;
        json?: boolean;
      }) => {
        const [dlqTopic] = dlqTopicsFor(settlementTopology, opts.topic);
        const ctx = createAppContext(loadConfig(), 'sts-dlq', { logLevel: 'warn' });
        try {
          const result = await replayDeadLetters(ctx, {
            dlqTopic: dlqTopic!,
            partition:
              opts.partition === undefined ? undefined : wholeNumber('--partition', opts.partition),
            offset: opts.offset === undefined ? undefined : offsetArg('--offset', opts.offset),
            all: opts.all,
            actor: `cli:${os.userInfo().username}`,
          });
          if (opts.json) return void process.stdout.write(`${toJson(result)}\n`);
          printReplay(result);
        } finally {
          await ctx.close();
        }
      },
    );
}

function printLetters(letters: DeadLetterView[]) {
  if (letters.length === 0) return void process.stdout.write('no dead letters\n');
  for (const l of letters) {
    const origin = l.original.topic
      ? `${l.original.topic}/${l.original.partition ?? '?'}/${l.original.offset ?? '?'} at ${l.original.timestamp ?? '?'}`
      : 'unknown origin';
    // Every part of a view is already capped (services/dlq/payload-view.ts): a letter prints a few KiB.
    const p = l.payload;
    const payload =
      p.format === 'avro'
        ? JSON.stringify(p.value)
        : p.format === 'avro-preview'
          ? `${p.preview}… (${p.jsonChars} chars of JSON, cut)`
          : p.format === 'base64'
            ? `base64 ${p.base64}${p.truncated ? `… (first ${Buffer.from(p.base64, 'base64').length} of ${p.bytes} bytes)` : ''} (${p.error.code}: ${p.error.message})`
            : '(empty)';
    process.stdout.write(
      [
        `${l.dlq.topic}/${l.dlq.partition}/${l.dlq.offset}  ${l.dlq.timestamp}${l.replayed ? `  REPLAYED ${l.replayed.at} by ${l.replayed.by}` : ''}`,
        `  from     ${origin}${l.processor ? ` (processor ${l.processor})` : ''}`,
        `  error    ${l.error.code ?? '?'}: ${l.error.message ?? ''}`,
        `  key      ${l.key ?? '(null)'}`,
        `  payload  ${payload}`,
        '',
      ].join('\n'),
    );
  }
}

function printReplay(r: ReplayResult) {
  const rows = [
    ...r.replayed.map((x) => ({
      dlq: `${x.dlq.topic}/${x.dlq.partition}/${x.dlq.offset}`,
      outcome: 'replayed',
      detail: `to ${x.to.topic}/${x.to.partition}/${x.to.offset ?? '?'}`,
    })),
    ...r.skipped.map((x) => ({
      dlq: `${x.dlq.topic}/${x.dlq.partition}/${x.dlq.offset}`,
      outcome: 'skipped',
      detail: x.reason,
    })),
  ];
  process.stdout.write(
    rows.length === 0 ? 'nothing to replay\n' : `${table(rows, ['dlq', 'outcome', 'detail'])}\n`,
  );
}

function wholeNumber(flag: string, v: string): number {
  if (!/^\d{1,9}$/.test(v))
    throw new ConfigError(`${flag} ${v} is not a whole number`, `for example ${flag} 0`);
  return Number(v);
}

/** Offsets are int64: parsed to bigint, never through a JS number. */
function offsetArg(flag: string, v: string): bigint {
  if (!/^\d{1,19}$/.test(v) || BigInt(v) >= 2n ** 63n)
    throw new ConfigError(`${flag} ${v} is not an offset`, `for example ${flag} 42`);
  return BigInt(v);
}
