import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors';
import { parseMoneyBounds } from './money/money-bounds';
import { parsePayoutRails, type RailMap } from './payouts/payout-rails';
import { REGIONS } from './money/regions';
import { parseUploadMaxTotal, type UploadCheckBounds } from './uploads/upload-check-bounds';

/**
 * Every environment variable the system reads, with its default. The defaults are the embedded
 * local stack that `npx sts up` starts; point a variable elsewhere to use an external service.
 */
export const CONFIG_DEFAULTS = {
  /** Comma-separated bootstrap brokers. */
  STS_KAFKA_BROKERS: '127.0.0.1:9092',
  /**
   * How many combined broker-controller nodes `sts up` starts for a local Kafka (1 to 5). With more
   * than one, STS_KAFKA_BROKERS names the first node; node n listens two ports further up for each
   * node before it (9092, 9094, 9096), its controller likewise from STS_KAFKA_CONTROLLER_PORT.
   */
  STS_KAFKA_NODES: '1',
  /** Confluent-compatible API of the registry (Apicurio's ccompat v7 endpoint). */
  STS_SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081/apis/ccompat/v7',
  /** MariaDB/MySQL connection URL; the path names the database. */
  STS_MYSQL_URL: 'mysql://root@127.0.0.1:3306/sts',
  /**
   * InnoDB buffer pool of the private MariaDB that `sts up` starts when nothing answers on a local
   * STS_MYSQL_URL (bytes, or with K/M/G). A server the machine already runs keeps its own setting.
   * Raise it when the working set outgrows it: at 10M billing items the close waits on disk reads.
   */
  STS_MYSQL_BUFFER_POOL: '512M',
  /**
   * MariaDB nodes `sts up` runs locally (1 to 5): 1 is the single server above; more is a Galera
   * cluster (galera-4) with HAProxy in front, its data under STS_DATA_DIR/galera. With more than
   * one, every process reaches the database through HAProxy: the effective URL is STS_MYSQL_URL
   * with STS_MYSQL_PROXY_PORT as its port.
   */
  STS_MYSQL_NODES: '1',
  /** HAProxy's listener in front of a local Galera cluster (STS_MYSQL_NODES above 1). */
  STS_MYSQL_PROXY_PORT: '3307',
  /** Redis URL. Redis only ever holds derived state (docs/DESIGN.md, "Guarantees"). */
  STS_REDIS_URL: 'redis://127.0.0.1:6379',
  /** Base URL of the payment gateway (the simulator by default). */
  STS_GATEWAY_URL: 'http://127.0.0.1:7071',
  /** Control API of the bank simulator (host-to-host files in STS_BANK_OUTBOUND_DIR/STS_BANK_INBOUND_DIR). */
  STS_BANK_URL: 'http://127.0.0.1:7072',
  /** Ops API tokens: `token:role[:name]`, comma-separated; role is viewer, operator or admin. */
  STS_OPS_TOKENS: '',
  /** Port of the ops API and dashboard. */
  STS_OPS_PORT: '7070',
  /** Where the stack keeps jars, broker data, logs, pid files and payout files. */
  STS_DATA_DIR: '.sts',
  /** pino log level. */
  STS_LOG_LEVEL: 'info',
  /**
   * Consumer session timeout of `sts run` processors (ms; the broker's minimum is 6000). Lower it
   * where a supervisor restarts crashed instances at once: their partitions move sooner.
   */
  STS_PROCESSOR_SESSION_TIMEOUT_MS: '30000',
  /**
   * Regions whose cycles `sts run all` closes on its own once they end (comma-separated, or
   * "all"); empty: cycles close only through `sts settle close`.
   */
  STS_CLOSE_SCHEDULE: '',
  /**
   * Where the lag monitor POSTs a JSON alert when a consumer group stays not-OK for
   * STS_LAG_ALERT_AFTER_MS, and a "resolved" post when it is OK again; empty: no alerts.
   */
  STS_ALERT_WEBHOOK_URL: '',
  /** How long (ms) a group must stay WARNING/STALLED/STOPPED/REBALANCING before the alert fires. */
  STS_LAG_ALERT_AFTER_MS: '300000',
  /**
   * How often `sts run all` runs the reconciliation rules (ms); 0: only `sts recon run` and
   * POST /recon/run do. New CRITICAL findings go to STS_ALERT_WEBHOOK_URL as well.
   */
  STS_RECON_INTERVAL_MS: '300000',
  /** How long (ms) after created_at a PENDING or SUBMITTED payout may go without PAID/FAILED. */
  STS_PAYOUT_SLA_MS: '86400000',
  /** How long (ms) an outbox row may stay unpublished before reconciliation reports it. */
  STS_OUTBOX_MAX_AGE_MS: '60000',
  /**
   * The daily effect rules (docs/RECON.md): a region's local day is compared with the same weekday
   * of this many previous weeks.
   */
  STS_RECON_EFFECT_WEEKS: '4',
  /** Charges or payouts a day needs before the daily effect rules compare it (or count it as a baseline day). */
  STS_RECON_EFFECT_MIN_VOLUME: '50',
  /** A day's commission take rate more than this many basis points from its baseline is a WARNING finding. */
  STS_RECON_TAKE_RATE_SHIFT_BPS: '100',
  /** A day's average payout more than this percent above or below its baseline is a WARNING finding. */
  STS_RECON_AVG_PAYOUT_SHIFT_PCT: '50',
  /**
   * How old (days) an order event's occurred_at may be; an older one is dead-lettered instead of
   * opening a cycle nobody will close. Late events of closed cycles inside it are booked late.
   */
  STS_EVENT_MAX_AGE_DAYS: '400',
  /** How far (ms) in the future an order event's occurred_at may be (producer clock skew). */
  STS_EVENT_MAX_FUTURE_MS: '86400000',
  /**
   * Largest record value (bytes) a consumer or the DLQ tools decode; a longer one is dead-lettered
   * unread. Kafka's default max.message.bytes, which our topics keep: an upload chunk (the largest
   * record, about 600 KiB at most) fits, and so does anything the broker accepts.
   */
  STS_MAX_RECORD_BYTES: '1048588',
  /**
   * Per-currency money bounds in minor units, `CUR:item=N,payout=N;...` (runtime/money/money-bounds.ts
   * reads it; empty keeps the defaults). Checked here so that a process with a malformed value
   * refuses to start, instead of failing on the first amount it checks.
   */
  STS_MONEY_BOUNDS: '',
  /**
   * Upload checks (runtime/uploads/upload-check-bounds.ts; docs/UPLOADS.md, "Checks before
   * booking"): an upload past one of them waits for `sts upload confirm`. A seller's total in a
   * file above this many times its largest cycle balance of the history window; 0: off.
   */
  STS_UPLOAD_SELLER_FACTOR: '10',
  /** One row above this many times its seller's typical item of the history window; 0: off. */
  STS_UPLOAD_ROW_FACTOR: '20',
  /** Weekly cycles of history the seller checks read, the current one included. */
  STS_UPLOAD_HISTORY_CYCLES: '8',
  /** Sellers one upload may touch. */
  STS_UPLOAD_MAX_SELLERS: '50000',
  /** Money one upload may move per currency, `CUR:amount` in major units (empty: about USD 5M each; 0: off). */
  STS_UPLOAD_MAX_TOTAL: '',
  /**
   * The rail each region's payouts travel (runtime/payouts/payout-rails.ts): `REGION=RAIL`,
   * comma-separated, RAIL being `gateway` or `bank-file`; regions not named use the gateway.
   */
  STS_PAYOUT_RAILS: '',
  /**
   * A payout whose seller's payee account replaced an earlier one less than this many hours before
   * the close is held (PAYEE_CHANGED) until an operator releases it: a changed bank account is the
   * usual way money is stolen from a seller.
   */
  STS_PAYEE_COOLOFF_HOURS: '72',
  /**
   * Names this deployment in every pain.001 MsgId (1 to 8 letters or digits): a bank refuses a
   * MsgId it has seen, so staging and production must never share one.
   */
  STS_ENVIRONMENT: 'LOCAL',
  /** Where bank-file payouts' pain.001 files are put for the bank (host-to-host); relative to STS_DATA_DIR when not absolute. */
  STS_BANK_OUTBOUND_DIR: 'bank/outbound',
  /**
   * The folder under which the close writes its pain.001 files and manifests
   * (`payout-files/<region>/<cycle>/`) and the bank rail its files (`bank-files/<region>/`), for a
   * volume the bank transfer picks up from; relative to STS_DATA_DIR when not absolute.
   */
  STS_PAYOUT_FILES_DIR: '.',
  /** Where the bank's pain.002 status reports and camt.054 notifications arrive; relative to STS_DATA_DIR when not absolute. */
  STS_BANK_INBOUND_DIR: 'bank/inbound',
  /** How often (ms) `sts run all` sends pending bank-file payouts and reads the bank's reports. */
  STS_BANK_POLL_MS: '2000',
  /**
   * `sts rules add` and POST /rules warn, and write only when confirmed, when a new version's rate
   * moves more than this many basis points from the version it replaces (processors/commission/rule-warnings.ts).
   */
  STS_RULE_RATE_WARN_BPS: '200',
  /** How many of the region's last closed cycles `sts settle close --preview` compares with. */
  STS_PREVIEW_HISTORY: '4',
  /** The preview flags a currency's payout total or count above this many times the highest of those cycles, or below the lowest divided by it. */
  STS_PREVIEW_FACTOR: '2',
  /** The preview flags a seller's payout above this many times its largest payout of those cycles. */
  STS_PREVIEW_SELLER_FACTOR: '5',
  /** The preview flags a close that would hold more than this many payouts. */
  STS_PREVIEW_HOLDS: '10',
} as const;

/** The repository root; relative paths in the config resolve against it. */
export const PROJECT_ROOT = path.resolve(__dirname, '..');

const hostPort = /^[^\s:,]+:\d{1,5}$/;

const schema = z.object({
  STS_KAFKA_BROKERS: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((b) => b.trim())
        .filter(Boolean),
    )
    .refine((bs) => bs.length > 0 && bs.every((b) => hostPort.test(b)), {
      message: 'STS_KAFKA_BROKERS must be host:port[,host:port...], for example 127.0.0.1:9092',
    }),
  STS_KAFKA_NODES: z.coerce.number().int().min(1, 'STS_KAFKA_NODES must be 1 to 5').max(5, 'STS_KAFKA_NODES must be 1 to 5'),
  STS_SCHEMA_REGISTRY_URL: z.string().url('STS_SCHEMA_REGISTRY_URL must be an http(s) URL'),
  STS_MYSQL_URL: z
    .string()
    .url()
    .refine((u) => /^mysql:\/\//.test(u) && new URL(u).pathname.length > 1, {
      message: 'STS_MYSQL_URL must look like mysql://user[:password]@host:port/database',
    }),
  STS_MYSQL_BUFFER_POOL: z
    .string()
    .regex(/^[1-9]\d*[KMG]?$/i, 'STS_MYSQL_BUFFER_POOL must be a size such as 512M or 4G')
    .transform((v) => v.toUpperCase()),
  STS_MYSQL_NODES: z.coerce.number().int().min(1, 'STS_MYSQL_NODES must be 1 to 5').max(5, 'STS_MYSQL_NODES must be 1 to 5'),
  STS_MYSQL_PROXY_PORT: z.coerce.number().int().min(1, 'STS_MYSQL_PROXY_PORT must be a port (1 to 65535)').max(65535, 'STS_MYSQL_PROXY_PORT must be a port (1 to 65535)'),
  STS_REDIS_URL: z.string().regex(/^rediss?:\/\//, 'STS_REDIS_URL must start with redis://'),
  STS_GATEWAY_URL: z.string().url('STS_GATEWAY_URL must be an http(s) URL'),
  STS_BANK_URL: z.string().url('STS_BANK_URL must be an http(s) URL'),
  STS_OPS_TOKENS: z.string(),
  STS_OPS_PORT: z.coerce.number().int().min(1).max(65535),
  STS_DATA_DIR: z.string().min(1),
  STS_PROCESSOR_SESSION_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(6000, 'STS_PROCESSOR_SESSION_TIMEOUT_MS must be at least 6000 (the broker minimum)')
    .max(300_000),
  STS_CLOSE_SCHEDULE: z
    .string()
    .transform((v) =>
      v.trim().toLowerCase() === 'all'
        ? Object.keys(REGIONS)
        : v
            .split(',')
            .map((r) => r.trim().toUpperCase())
            .filter(Boolean),
    )
    .refine((rs) => rs.every((r) => r in REGIONS), {
      message: 'STS_CLOSE_SCHEDULE must list regions (SG,MY,...) or be "all"',
    }),
  STS_ALERT_WEBHOOK_URL: z.union([
    z.literal(''),
    z.string().url('STS_ALERT_WEBHOOK_URL must be an http(s) URL or empty'),
  ]),
  STS_LAG_ALERT_AFTER_MS: z.coerce
    .number()
    .int()
    .min(0, 'STS_LAG_ALERT_AFTER_MS must be 0 or more (milliseconds)'),
  STS_RECON_INTERVAL_MS: z.coerce
    .number()
    .int()
    .refine((ms) => ms === 0 || ms >= 1000, {
      message: 'STS_RECON_INTERVAL_MS must be 0 (off) or at least 1000 ms',
    }),
  STS_PAYOUT_SLA_MS: z.coerce
    .number()
    .int()
    .min(1000, 'STS_PAYOUT_SLA_MS must be at least 1000 ms'),
  STS_OUTBOX_MAX_AGE_MS: z.coerce
    .number()
    .int()
    .min(1000, 'STS_OUTBOX_MAX_AGE_MS must be at least 1000 ms'),
  STS_RECON_EFFECT_WEEKS: z.coerce
    .number()
    .int()
    .min(1, 'STS_RECON_EFFECT_WEEKS must be 1 to 8 (weeks)')
    .max(8, 'STS_RECON_EFFECT_WEEKS must be 1 to 8 (weeks)'),
  STS_RECON_EFFECT_MIN_VOLUME: z.coerce
    .number()
    .int()
    .min(1, 'STS_RECON_EFFECT_MIN_VOLUME must be at least 1 (charges or payouts a day)'),
  STS_RECON_TAKE_RATE_SHIFT_BPS: z.coerce
    .number()
    .int()
    .min(1, 'STS_RECON_TAKE_RATE_SHIFT_BPS must be 1 to 10000 (basis points)')
    .max(10_000, 'STS_RECON_TAKE_RATE_SHIFT_BPS must be 1 to 10000 (basis points)'),
  STS_RECON_AVG_PAYOUT_SHIFT_PCT: z.coerce
    .number()
    .int()
    .min(1, 'STS_RECON_AVG_PAYOUT_SHIFT_PCT must be 1 to 10000 (percent)')
    .max(10_000, 'STS_RECON_AVG_PAYOUT_SHIFT_PCT must be 1 to 10000 (percent)'),
  STS_EVENT_MAX_AGE_DAYS: z.coerce
    .number()
    .int()
    .min(1, 'STS_EVENT_MAX_AGE_DAYS must be at least 1 (days)')
    .max(3650, 'STS_EVENT_MAX_AGE_DAYS must be at most 3650 (days)'),
  STS_EVENT_MAX_FUTURE_MS: z.coerce
    .number()
    .int()
    .min(0, 'STS_EVENT_MAX_FUTURE_MS must be 0 or more (milliseconds)')
    .max(31 * 86_400_000, 'STS_EVENT_MAX_FUTURE_MS must be at most 31 days'),
  STS_LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
  STS_MAX_RECORD_BYTES: z.coerce
    .number()
    .int()
    .min(1024, 'STS_MAX_RECORD_BYTES must be at least 1024 (bytes)')
    .max(64 * 1024 * 1024, 'STS_MAX_RECORD_BYTES must be at most 64 MiB'),
  STS_MONEY_BOUNDS: z.string().superRefine((v, ctx) => {
    try {
      parseMoneyBounds(v);
    } catch (err) {
      const e = err as { message: string; fix?: string };
      ctx.addIssue({
        code: 'custom',
        message: `${e.message.replace(/^STS_MONEY_BOUNDS /, '')}${e.fix ? ` (${e.fix})` : ''}`,
      });
    }
  }),
  STS_UPLOAD_SELLER_FACTOR: z.coerce.number().int('STS_UPLOAD_SELLER_FACTOR must be a whole number').min(0).max(1_000_000),
  STS_UPLOAD_ROW_FACTOR: z.coerce.number().int('STS_UPLOAD_ROW_FACTOR must be a whole number').min(0).max(1_000_000),
  STS_UPLOAD_HISTORY_CYCLES: z.coerce.number().int().min(1, 'STS_UPLOAD_HISTORY_CYCLES must be 1 to 104 (weeks)').max(104, 'STS_UPLOAD_HISTORY_CYCLES must be 1 to 104 (weeks)'),
  STS_UPLOAD_MAX_SELLERS: z.coerce.number().int().min(1, 'STS_UPLOAD_MAX_SELLERS must be 1 to 10000000').max(10_000_000, 'STS_UPLOAD_MAX_SELLERS must be 1 to 10000000'),
  STS_UPLOAD_MAX_TOTAL: z.string().transform((v, ctx) => {
    try {
      return parseUploadMaxTotal(v);
    } catch (err) {
      const e = err as { message: string; fix?: string };
      ctx.addIssue({ code: 'custom', message: `${e.message.replace(/^STS_UPLOAD_MAX_TOTAL /, '')}${e.fix ? ` (${e.fix})` : ''}` });
      return z.NEVER;
    }
  }),
  STS_PAYOUT_RAILS: z.string().transform((v, ctx) => {
    try {
      return parsePayoutRails(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `STS_PAYOUT_RAILS: ${(err as Error).message}` });
      return z.NEVER;
    }
  }),
  STS_PAYEE_COOLOFF_HOURS: z.coerce
    .number()
    .min(0, 'STS_PAYEE_COOLOFF_HOURS must be 0 or more (hours)')
    .max(24 * 365),
  STS_ENVIRONMENT: z.string().regex(/^[A-Z0-9]{1,8}$/, 'STS_ENVIRONMENT must be 1 to 8 upper-case letters or digits'),
  STS_BANK_OUTBOUND_DIR: z.string().min(1),
  STS_PAYOUT_FILES_DIR: z.string().min(1),
  STS_BANK_INBOUND_DIR: z.string().min(1),
  STS_BANK_POLL_MS: z.coerce.number().int().min(100, 'STS_BANK_POLL_MS must be at least 100 ms').max(3_600_000),
  STS_RULE_RATE_WARN_BPS: z.coerce.number().int().min(0, 'STS_RULE_RATE_WARN_BPS must be 0..10000 (basis points)').max(10_000, 'STS_RULE_RATE_WARN_BPS must be 0..10000 (basis points)'),
  STS_PREVIEW_HISTORY: z.coerce.number().int().min(1, 'STS_PREVIEW_HISTORY must be 1 to 52 (cycles)').max(52, 'STS_PREVIEW_HISTORY must be 1 to 52 (cycles)'),
  STS_PREVIEW_FACTOR: z.coerce.number().int().min(2, 'STS_PREVIEW_FACTOR must be a whole number of at least 2'),
  STS_PREVIEW_SELLER_FACTOR: z.coerce.number().int().min(2, 'STS_PREVIEW_SELLER_FACTOR must be a whole number of at least 2'),
  STS_PREVIEW_HOLDS: z.coerce.number().int().min(0, 'STS_PREVIEW_HOLDS must be 0 or more (payouts)'),
});

export interface StsConfig {
  /** Bootstrap list; for a local cluster of several nodes, every node's address. */
  kafkaBrokers: string[];
  /** Nodes of the local Kafka `sts up` runs. */
  kafkaNodes: number;
  schemaRegistryUrl: string;
  /** Where processes connect: STS_MYSQL_URL, or for a local Galera cluster HAProxy in front of it. */
  mysqlUrl: string;
  /** MariaDB nodes of the local database `sts up` runs; above 1, a Galera cluster behind HAProxy. */
  mysqlNodes: number;
  /** innodb_buffer_pool_size of a private MariaDB that `sts up` starts, e.g. '512M'. */
  mysqlBufferPool: string;
  redisUrl: string;
  gatewayUrl: string;
  /** Control API of the bank simulator, without a trailing slash. */
  bankUrl: string;
  opsTokens: string;
  opsPort: number;
  /** Absolute path. */
  dataDir: string;
  logLevel: string;
  processorSessionTimeoutMs: number;
  /** Regions closed by the scheduler in `sts run all`; empty disables it. */
  closeSchedule: string[];
  /** Lag alert webhook; empty disables alerting. */
  alertWebhookUrl: string;
  lagAlertAfterMs: number;
  /** Reconciliation interval of `sts run all`; 0 disables the scheduler. */
  reconIntervalMs: number;
  payoutSlaMs: number;
  outboxMaxAgeMs: number;
  /** The daily effect rules' baseline weeks, minimum volume and thresholds (docs/RECON.md). */
  reconEffectWeeks: number;
  reconEffectMinVolume: number;
  reconTakeRateShiftBps: number;
  reconAvgPayoutShiftPct: number;
  /** Order events older than this many days are refused. */
  eventMaxAgeDays: number;
  /** Order events dated more than this many ms ahead are refused. */
  eventMaxFutureMs: number;
  /** Largest record value decoded from Kafka (bytes). */
  maxRecordBytes: number;
  /** What an upload is checked against before anything of it is booked. */
  uploadChecks: UploadCheckBounds;
  /** The rail of every region. */
  payoutRails: RailMap;
  /** Cool-off after a payee account change, in hours. */
  payeeCooloffHours: number;
  /** In every pain.001 MsgId. */
  environment: string;
  /** Absolute paths. */
  bankOutboundDir: string;
  /**
   * STS_PAYOUT_FILES_DIR as given: relative to the data directory in use, absolute kept. It is
   * resolved where files are written, not here, so a copy of the config with another dataDir (a
   * test's, a second pipeline's) writes its files under that dataDir, not under this one.
   */
  payoutFilesDir: string;
  bankInboundDir: string;
  bankPollMs: number;
  /** Rule versions changing the rate by more than this (bps) need confirmation. */
  ruleRateWarnBps: number;
  /** What `sts settle close --preview` compares with and flags. */
  preview: { history: number; factor: number; sellerFactor: number; holds: number };
}

/** Reads and validates the environment; throws a ConfigError that says which variable to fix. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): StsConfig {
  const merged: Record<string, string> = { ...CONFIG_DEFAULTS };
  for (const key of Object.keys(CONFIG_DEFAULTS)) {
    const value = env[key];
    if (value !== undefined && value !== '') merged[key] = value;
  }
  const parsed = schema.safeParse(merged);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const field = String(first?.path[0] ?? 'environment');
    throw new ConfigError(
      `${field}: ${first?.message ?? 'invalid'}`,
      `set ${field} correctly or unset it to use the local stack`,
    );
  }
  const c = parsed.data;
  const dataDir = path.resolve(PROJECT_ROOT, c.STS_DATA_DIR);
  return {
    kafkaBrokers: clusterBootstrap(c.STS_KAFKA_BROKERS, c.STS_KAFKA_NODES),
    kafkaNodes: c.STS_KAFKA_NODES,
    schemaRegistryUrl: c.STS_SCHEMA_REGISTRY_URL.replace(/\/+$/, ''),
    mysqlUrl: c.STS_MYSQL_NODES > 1 ? proxiedMysqlUrl(c.STS_MYSQL_URL, c.STS_MYSQL_PROXY_PORT) : c.STS_MYSQL_URL,
    mysqlNodes: c.STS_MYSQL_NODES,
    mysqlBufferPool: c.STS_MYSQL_BUFFER_POOL,
    redisUrl: c.STS_REDIS_URL,
    gatewayUrl: c.STS_GATEWAY_URL.replace(/\/+$/, ''),
    bankUrl: c.STS_BANK_URL.replace(/\/+$/, ''),
    opsTokens: c.STS_OPS_TOKENS,
    opsPort: c.STS_OPS_PORT,
    // Relative to the project root, not the caller's cwd, so every command finds the same stack.
    dataDir,
    logLevel: c.STS_LOG_LEVEL,
    processorSessionTimeoutMs: c.STS_PROCESSOR_SESSION_TIMEOUT_MS,
    closeSchedule: c.STS_CLOSE_SCHEDULE,
    alertWebhookUrl: c.STS_ALERT_WEBHOOK_URL,
    lagAlertAfterMs: c.STS_LAG_ALERT_AFTER_MS,
    reconIntervalMs: c.STS_RECON_INTERVAL_MS,
    payoutSlaMs: c.STS_PAYOUT_SLA_MS,
    outboxMaxAgeMs: c.STS_OUTBOX_MAX_AGE_MS,
    reconEffectWeeks: c.STS_RECON_EFFECT_WEEKS,
    reconEffectMinVolume: c.STS_RECON_EFFECT_MIN_VOLUME,
    reconTakeRateShiftBps: c.STS_RECON_TAKE_RATE_SHIFT_BPS,
    reconAvgPayoutShiftPct: c.STS_RECON_AVG_PAYOUT_SHIFT_PCT,
    eventMaxAgeDays: c.STS_EVENT_MAX_AGE_DAYS,
    eventMaxFutureMs: c.STS_EVENT_MAX_FUTURE_MS,
    maxRecordBytes: c.STS_MAX_RECORD_BYTES,
    uploadChecks: {
      sellerFactor: BigInt(c.STS_UPLOAD_SELLER_FACTOR),
      rowFactor: BigInt(c.STS_UPLOAD_ROW_FACTOR),
      historyCycles: c.STS_UPLOAD_HISTORY_CYCLES,
      maxSellers: c.STS_UPLOAD_MAX_SELLERS,
      maxTotalMinor: c.STS_UPLOAD_MAX_TOTAL,
    },
    payoutRails: c.STS_PAYOUT_RAILS,
    payeeCooloffHours: c.STS_PAYEE_COOLOFF_HOURS,
    environment: c.STS_ENVIRONMENT,
    bankOutboundDir: path.resolve(dataDir, c.STS_BANK_OUTBOUND_DIR),
    payoutFilesDir: c.STS_PAYOUT_FILES_DIR,
    bankInboundDir: path.resolve(dataDir, c.STS_BANK_INBOUND_DIR),
    bankPollMs: c.STS_BANK_POLL_MS,
    ruleRateWarnBps: c.STS_RULE_RATE_WARN_BPS,
    preview: { history: c.STS_PREVIEW_HISTORY, factor: c.STS_PREVIEW_FACTOR, sellerFactor: c.STS_PREVIEW_SELLER_FACTOR, holds: c.STS_PREVIEW_HOLDS },
  };
}

/**
 * A local cluster's bootstrap list: the first node's address, then each further node two ports up,
 * so a client keeps a way in whichever node is down. A list already naming several brokers is an
 * external cluster and stays as it is.
 */
export function clusterBootstrap(brokers: string[], nodes: number): string[] {
  if (nodes <= 1 || brokers.length !== 1) return brokers;
  const [host, port] = brokers[0]!.split(':') as [string, string];
  return Array.from({ length: nodes }, (_, i) => `${host}:${Number(port) + 2 * i}`);
}

/**
 * A local Galera cluster's front door: STS_MYSQL_URL's user, password and database on HAProxy's
 * port. The cluster runs on loopback, so a URL naming another host is a contradiction to fix.
 */
function proxiedMysqlUrl(mysqlUrl: string, proxyPort: number): string {
  const u = new URL(mysqlUrl);
  if (u.hostname !== '127.0.0.1' && u.hostname !== 'localhost') {
    throw new ConfigError(
      `STS_MYSQL_NODES: a local Galera cluster runs on 127.0.0.1, but STS_MYSQL_URL names ${u.host}`,
      'unset STS_MYSQL_NODES to use that server, or point STS_MYSQL_URL at 127.0.0.1',
    );
  }
  u.port = String(proxyPort);
  return u.toString();
}

/** The same MySQL URL pointed at another database (test workers each get their own). */
export function withDatabase(mysqlUrl: string, database: string): string {
  const u = new URL(mysqlUrl);
  u.pathname = `/${database}`;
  return u.toString();
}

export function databaseName(mysqlUrl: string): string {
  return decodeURIComponent(new URL(mysqlUrl).pathname.slice(1));
}
