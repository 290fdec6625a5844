/**
 * A downstream team's consumer of payout results: `npx tsx examples/payout-results-consumer.ts`.
 *
 * It uses only what a team outside this repository would have: kafkajs, the Confluent schema
 * registry client and avsc. Each message on `sts.payout-results.v1` is Avro in the Confluent wire
 * format (schemas/payout-result.avsc, subject `sts.payout-results.v1-value`); the registry
 * client looks the writer schema up by the id in the message, so the consumer keeps working when
 * the contract gains optional fields.
 *
 * Inputs
 *   env    STS_KAFKA_BROKERS (default 127.0.0.1:9092), STS_SCHEMA_REGISTRY_URL
 *          (default http://127.0.0.1:8081/apis/ccompat/v7)
 *   flags  --topic T (default sts.payout-results.v1), --group G (default example.payout-results),
 *          --from-beginning, --max N (stop after N results; default: run until Ctrl-C)
 * Output: one line per payout result, e.g.
 *   PAID   payout 652024209997893632 seller 652024209997800000 SGD 1234.56 ref GW000000000001
 * Exit codes: 0 on Ctrl-C or after --max results; 1 if it cannot connect or decode.
 *
 * Two things every consumer of this topic must do:
 *   - read ids and amounts as 64-bit integers: they exceed 2^53, so a JS number loses digits
 *     (this example decodes Avro longs into bigint);
 *   - deduplicate on the `sts-event-id` header: the outbox relay publishes at least once.
 */
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { Kafka, logLevel } from 'kafkajs';
import { parseArgs } from 'node:util';

interface PayoutResult {
  event_id: string;
  payout_id: bigint;
  shop_user_id: bigint;
  region: string;
  currency: string;
  amount_minor: bigint;
  status: 'PAID' | 'FAILED';
  gateway_reference: string | null;
  failure_code: string | null;
  /** timestamp-millis, decoded as a 64-bit integer like every long. */
  decided_at: bigint;
}

/** Avro long as bigint. avsc's default is a JS number, which silently rounds 18-digit ids. */
const bigintLong = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (n: bigint) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(n);
    return buf;
  },
  fromJSON: (v: unknown) => BigInt(v as string),
  toJSON: (n: bigint) => n.toString(),
  isValid: (n: unknown) => typeof n === 'bigint',
  compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
});

/** Minor-unit exponents (ISO 4217) of the marketplace's currencies, for display only. */
const EXPONENT: Record<string, number> = { VND: 0 };

function major(amountMinor: bigint, currency: string): string {
  const exp = EXPONENT[currency] ?? 2;
  if (exp === 0) return amountMinor.toString();
  const sign = amountMinor < 0n ? '-' : '';
  const abs = (amountMinor < 0n ? -amountMinor : amountMinor).toString().padStart(exp + 1, '0');
  return `${sign}${abs.slice(0, -exp)}.${abs.slice(-exp)}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      topic: { type: 'string', default: 'sts.payout-results.v1' },
      group: { type: 'string', default: 'example.payout-results' },
      'from-beginning': { type: 'boolean', default: false },
      max: { type: 'string' },
    },
  });
  const brokers = (process.env.STS_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  const registry = new SchemaRegistry(
    { host: process.env.STS_SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7' },
    // A type hook rather than a shared avsc registry: every schema version parses on its own.
    {
      [SchemaType.AVRO]: {
        typeHook: (schema: unknown) => (schema === 'long' ? bigintLong : undefined),
      },
    },
  );
  const kafka = new Kafka({ clientId: 'payout-results-example', brokers, logLevel: logLevel.WARN });
  const consumer = kafka.consumer({ groupId: values.group! });
  const max = values.max === undefined ? Infinity : Number(values.max);
  const seen = new Set<string>();
  let printed = 0;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await consumer.disconnect().catch(() => undefined);
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  await consumer.connect();
  await consumer.subscribe({ topic: values.topic!, fromBeginning: values['from-beginning'] });
  await consumer.run({
    eachMessage: async ({ message }) => {
      // Keep a durable set (a table with a unique key) in a real consumer; memory is enough here.
      const eventId = message.headers?.['sts-event-id']?.toString();
      if (eventId && seen.has(eventId)) return;
      if (eventId) seen.add(eventId);
      const r = (await registry.decode(message.value!)) as PayoutResult;
      const detail =
        r.status === 'PAID' ? `ref ${r.gateway_reference}` : `reason ${r.failure_code}`;
      process.stdout.write(
        `${r.status.padEnd(6)} payout ${r.payout_id} seller ${r.shop_user_id} ${r.currency} ${major(r.amount_minor, r.currency)} ${detail} at ${new Date(Number(r.decided_at)).toISOString()}\n`,
      );
      if (++printed >= max) void stop(0);
    },
  });
}

main().catch((err: unknown) => {
  process.stderr.write(
    `payout-results-consumer: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
