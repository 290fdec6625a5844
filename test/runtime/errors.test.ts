import { ERROR_CODES, type ErrorCode } from '../../runtime/error-codes';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, NotFoundError, StsError, UnexpectedStateError, ValidationError, asStsError } from '../../runtime/errors';
import { ArtifactUnavailableError, BankJournalCorruptError, GatewayJournalCorruptError, PortInUseError, PrerequisiteMissingError, ServiceUnavailableError, StartupFailedError } from '../../infra/stack-errors';
import { CommissionChargeUnknownError, CommissionConflictError, CommissionRuleInvalidError, CommissionRuleMissingError, CommissionRuleOverlapError, CommissionRuleUnconfirmedError } from '../../processors/commission/commission-errors';
import { PaymentsPausedError, PayoutMismatchError, PayoutUnresolvedError } from '../../processors/payment-notify/payment-errors';
import { BalanceGuardMissedError, BalanceOverflowError, ConcurrentWriteError, LedgerWriteAlteredError, NoOpenCycleError } from '../../runtime/billing/billing-errors';
import { CollationUnsupportedError, LedgerTextTooLongError, LockUnavailableError, SchemaAheadError, SchemaBehindError, SqlModeUnsupportedError } from '../../runtime/db/db-errors';
import { GatewayKeyConflictError, GatewayRequestInvalidError, GatewayUnavailableError } from '../../runtime/gateway/gateway-errors';
import { ClockBackwardsError, IdCollisionError, IdLeaseLostError, IdLeasesExhaustedError, IdTimeExhaustedError } from '../../runtime/ids/id-errors';
import { KafkaClientUnsupportedError, KafkaReadError, TopicsNotReadyError } from '../../runtime/kafka/kafka-errors';
import { OutboxBadRowError, OutboxIdInvalidError } from '../../runtime/outbox/outbox-errors';
import { PayeeInvalidError } from '../../runtime/payees/payee-errors';
import { LedgerInvariantError } from '../../runtime/payment-ledger/ledger-errors';
import { DlqPublishError, RetriesExhaustedError } from '../../runtime/processor/processor-errors';
import { DecodeError, EncodeError, RegistryRefusedError, RegistryUnavailableError, SchemaIncompatibleError, SchemaUnknownError } from '../../runtime/registry/registry-errors';
import { TopologyError } from '../../runtime/topology/topology-errors';
import { DlqReplayRefusedError } from '../../services/dlq/dlq-errors';
import { AlertDeliveryError } from '../../services/lag/lag-errors';
import { PayoutActionRefusedError } from '../../services/payouts/payout-action-errors';
import { ReconFixRefusedError } from '../../services/recon/recon-errors';
import { UploadActionRefusedError, UploadRefusedError } from '../../services/uploads/upload-errors';
import { CloseRefusedError, WatermarkNotReachedError } from '../../settlement/cycle-close/close-errors';
import { AtomicWriteError, PayoutFileConflictError, PayoutFileInvalidError, PayoutFileUnreadableError, PayoutFileVerifyError } from '../../settlement/payout-file/payout-file-errors';
import { ChaosRunError } from '../../tools/chaos/chaos-errors';

/**
 * Every error class carries its own stable code, and only classified errors are retriable:
 * an unknown error retried forever is how a consumer loops on a poison message.
 */
const samples: Array<[string, StsError]> = [
  ['ConfigError', new ConfigError('bad')],
  ['PortInUseError', new PortInUseError('kafka', 9092, 'free it')],
  ['ArtifactUnavailableError', new ArtifactUnavailableError('kafka', 'offline')],
  ['PrerequisiteMissingError', new PrerequisiteMissingError('java', 'install it')],
  [
    'ServiceUnavailableError',
    new ServiceUnavailableError('mysql', 'h:1', 'refused', 'start it'),
  ],
  ['StartupFailedError', new StartupFailedError('kafka', 'exited', '/tmp/log')],
  ['TopologyError', new TopologyError(['x'])],
  ['SchemaIncompatibleError', new SchemaIncompatibleError('s-value', '409')],
  ['DecodeError', new DecodeError('bad magic', { topic: 't', partition: 1, offset: '5' })],
  ['ValidationError', new ValidationError('bad region')],
  ['LockUnavailableError', new LockUnavailableError('sts.outbox-relay', 'lost')],
  ['IdLeaseLostError', new IdLeaseLostError('expired')],
  ['IdLeasesExhaustedError', new IdLeasesExhaustedError(0, 128)],
  ['ClockBackwardsError', new ClockBackwardsError('10 ms')],
  ['DlqPublishError', new DlqPublishError('t.dlq', new Error('down'))],
  [
    'CommissionRuleInvalidError',
    new CommissionRuleInvalidError(['rate_bps must be 0..10000']),
  ],
  ['CommissionRuleOverlapError', new CommissionRuleOverlapError('SG', '*', 1)],
  [
    'CommissionRuleUnconfirmedError',
    new CommissionRuleUnconfirmedError([{ kind: 'RATE_JUMP', message: 'rate 900 bps is +400 bps from SG/* v1' }]),
  ],
  ['CommissionRuleMissingError', new CommissionRuleMissingError('SG', 'books', new Date(0))],
  [
    'CommissionChargeUnknownError',
    new CommissionChargeUnknownError('SG', 652024209997893632n),
  ],
  ['CommissionConflictError', new CommissionConflictError('second charge')],
  [
    'GatewayUnavailableError',
    new GatewayUnavailableError('timeout', 'no response in 5000 ms'),
  ],
  [
    'GatewayKeyConflictError',
    new GatewayKeyConflictError('payout-652024209997893632', 'amount differs'),
  ],
  [
    'GatewayRequestInvalidError',
    new GatewayRequestInvalidError(400, 'amount_minor must be a string'),
  ],
  [
    'GatewayJournalCorruptError',
    new GatewayJournalCorruptError('/tmp/executions.jsonl', 3, 'bad JSON'),
  ],
  [
    'PayoutFileInvalidError',
    new PayoutFileInvalidError('amount must be positive', {
      payoutId: '652024209997893632',
    }),
  ],
  [
    'PayoutFileConflictError',
    new PayoutFileConflictError(
      '/tmp/pain001-SG-20261116-SGD.xml',
      'exists with other bytes',
    ),
  ],
  ['PayoutFileUnreadableError', new PayoutFileUnreadableError('/tmp/missing.xml', 'ENOENT')],
  ['AtomicWriteError', new AtomicWriteError('/tmp/out.xml', 'ENOSPC')],
  ['UploadRefusedError', new UploadRefusedError('MISSING_COLUMNS', 'missing amount')],
  ['UploadActionRefusedError', new UploadActionRefusedError(652024209997893632n, 'it is COMPLETED', 'nothing to confirm')],
  ['NotFoundError', new NotFoundError('upload', '652024209997893632')],
  [
    'WatermarkNotReachedError',
    new WatermarkNotReachedError(
      'not reached in 60 s',
      'sts.commission sts.commission-requests.v1[3] 5 behind',
    ),
  ],
  ['CloseRefusedError', new CloseRefusedError('cutoff is in the future')],
  ['PayoutMismatchError', new PayoutMismatchError(652024209997893632n, 'amount 100 != 200')],
  [
    'LedgerInvariantError',
    new LedgerInvariantError(652024209997893632n, 'CONFIRM after CANCEL'),
  ],
  ['PaymentsPausedError', new PaymentsPausedError('open')],
  ['BankJournalCorruptError', new BankJournalCorruptError('journal.jsonl', 3, 'not JSON')],
  ['PayeeInvalidError', new PayeeInvalidError('account 1: not an IBAN', 'give an IBAN')],
  ['PayoutActionRefusedError', new PayoutActionRefusedError(652024209997893632n, 'it is PAID', 'list the held payouts')],
  [
    'PayoutUnresolvedError',
    new PayoutUnresolvedError(652024209997893632n, 'still unknown after 12 attempts'),
  ],
  ['KafkaClientUnsupportedError', new KafkaClientUnsupportedError('no cluster factory')],
  ['KafkaReadError', new KafkaReadError('sts.order-events.v1', 'leader moved')],
  [
    'TopicsNotReadyError',
    new TopicsNotReadyError(
      ['sts.payouts.v1', 'sts.payouts.v1.dlq'],
      'UNKNOWN_TOPIC_OR_PARTITION after 30 s',
    ),
  ],
  ['AlertDeliveryError', new AlertDeliveryError('HTTP 502')],
  [
    'DlqReplayRefusedError',
    new DlqReplayRefusedError('no sts-original-topic header', {
      topic: 'sts.payouts.v1.dlq',
      partition: 0,
      offset: '7',
    }),
  ],
  [
    'ReconFixRefusedError',
    new ReconFixRefusedError('cycle 20261116 of SG is CLOSED', {
      entity: 'SG/20261116/652024209997893632/SGD',
    }),
  ],
  ['ChaosRunError', new ChaosRunError('kafka did not come back in 120 s')],
  [
    'SqlModeUnsupportedError',
    new SqlModeUnsupportedError("SET SESSION sql_mode = 'STRICT_ALL_TABLES' failed"),
  ],
  [
    'IdCollisionError',
    new IdCollisionError(
      'billing_item',
      "Duplicate entry '900000000000000001' for key 'PRIMARY'",
    ),
  ],
  [
    'RetriesExhaustedError',
    new RetriesExhaustedError('STS_DB_LOCK', 'deadlock found', 8, 41_000),
  ],
  [
    'RegistryUnavailableError',
    new RegistryUnavailableError('schema registry, GET /schemas/ids/7: HTTP 503 busy', 503),
  ],
  [
    'RegistryRefusedError',
    new RegistryRefusedError('schema registry, PUT /config/s-value: HTTP 422 bad', 422),
  ],
  ['SchemaUnknownError', new SchemaUnknownError('schema id 7 is not in the registry')],
  ['EncodeError', new EncodeError(7, ['amount_minor'])],
  ['UnexpectedStateError', new UnexpectedStateError('script returned unknown code 9')],
  ['CollationUnsupportedError', new CollationUnsupportedError(['utf8mb4_nopad_bin'])],
  ['SchemaAheadError', new SchemaAheadError('0099_future.ts')],
  ['SchemaBehindError', new SchemaBehindError('recon_finding', '0007_recon_findings')],
  ['IdTimeExhaustedError', new IdTimeExhaustedError({ datacenterId: 0, workerId: 1 })],
  ['ConcurrentWriteError', new ConcurrentWriteError('a key was inserted concurrently')],
  [
    'LedgerWriteAlteredError',
    new LedgerWriteAlteredError(10, 2, 1, ["Data truncated for column 'memo' at row 3"]),
  ],
  ['LedgerTextTooLongError', new LedgerTextTooLongError('source_ref', 129, 128, 'x')],
  [
    'BalanceOverflowError',
    new BalanceOverflowError(
      { region: 'SG', shop: 652024209997893632n, currency: 'SGD', cycle: 20261116n },
      9223372036854775808n,
    ),
  ],
  ['BalanceGuardMissedError', new BalanceGuardMissedError(3)],
  ['NoOpenCycleError', new NoOpenCycleError('SG', 20261116n, 520)],
  [
    'OutboxIdInvalidError',
    new OutboxIdInvalidError('event id', 65, 1, 64, 'x'.repeat(65), 'sts.payouts.v1'),
  ],
  ['OutboxBadRowError', new OutboxBadRowError('17', 'payout-652024209997893632')],
  [
    'PayoutFileVerifyError',
    new PayoutFileVerifyError('SG', 20261116n, [
      { name: 'control sum', file: 'pain001-SG-20261116-SGD.xml', detail: '100 != 200' },
    ]),
  ],
];

/**
 * Every code, once, with whether it is retriable: the table in runtime/error-codes.ts must say the
 * same. Written out here so that adding a code, or changing what a retry does with one, means
 * changing this list on purpose.
 */
const EVERY_CODE: Record<ErrorCode, 'retriable' | 'not retriable'> = {
  STS_ALERT_DELIVERY_FAILED: 'retriable',
  STS_ARTIFACT_UNAVAILABLE: 'not retriable',
  STS_ATOMIC_WRITE_FAILED: 'not retriable',
  STS_BAD_REQUEST: 'not retriable',
  STS_BALANCE_OVERFLOW: 'not retriable',
  STS_BALANCE_GUARD_MISSED: 'not retriable',
  STS_BANK_JOURNAL_CORRUPT: 'not retriable',
  STS_CHAOS_RUN: 'not retriable',
  STS_CLOCK_BACKWARDS: 'not retriable',
  STS_CLOSE_OVERDUE: 'retriable',
  STS_CLOSE_REFUSED: 'not retriable',
  STS_COLLATION_UNSUPPORTED: 'not retriable',
  STS_COMMISSION_CHARGE_UNKNOWN: 'not retriable',
  STS_COMMISSION_CONFLICT: 'not retriable',
  STS_COMMISSION_RULE_INVALID: 'not retriable',
  STS_COMMISSION_RULE_MISSING: 'not retriable',
  STS_COMMISSION_RULE_OVERLAP: 'not retriable',
  STS_COMMISSION_RULE_UNCONFIRMED: 'not retriable',
  STS_COMPENSATOR_STALLED: 'retriable',
  STS_CONCURRENT_WRITE: 'retriable',
  STS_CONFIG_INVALID: 'not retriable',
  STS_DECODE_FAILED: 'not retriable',
  STS_DLQ_PUBLISH_FAILED: 'retriable',
  STS_DLQ_REPLAY_REFUSED: 'not retriable',
  STS_ENCODE_FAILED: 'not retriable',
  STS_FORBIDDEN: 'not retriable',
  STS_GATEWAY_JOURNAL_CORRUPT: 'not retriable',
  STS_GATEWAY_KEY_CONFLICT: 'not retriable',
  STS_GATEWAY_REQUEST_INVALID: 'not retriable',
  STS_GATEWAY_UNAVAILABLE: 'retriable',
  STS_ID_COLLISION: 'not retriable',
  STS_ID_LEASES_EXHAUSTED: 'retriable',
  STS_ID_LEASE_LOST: 'not retriable',
  STS_ID_TIME_EXHAUSTED: 'not retriable',
  STS_KAFKA_CLIENT_UNSUPPORTED: 'not retriable',
  STS_KAFKA_READ_FAILED: 'retriable',
  STS_LEDGER_INVARIANT: 'not retriable',
  STS_LEDGER_TEXT_TOO_LONG: 'not retriable',
  STS_LEDGER_WRITE_ALTERED: 'not retriable',
  STS_LOCK_UNAVAILABLE: 'retriable',
  STS_NOT_FOUND: 'not retriable',
  STS_NO_OPEN_CYCLE: 'not retriable',
  STS_OUTBOX_BAD_ROW: 'not retriable',
  STS_OUTBOX_HELD_BEHIND: 'not retriable',
  STS_OUTBOX_ID_INVALID: 'not retriable',
  STS_OUTBOX_ROW_TOO_LARGE: 'not retriable',
  STS_PAYEE_INVALID: 'not retriable',
  STS_PAYMENTS_PAUSED: 'retriable',
  STS_PAYOUT_ACTION_REFUSED: 'not retriable',
  STS_PAYOUT_FILE_CONFLICT: 'not retriable',
  STS_PAYOUT_FILE_INVALID: 'not retriable',
  STS_PAYOUT_FILE_UNREADABLE: 'not retriable',
  STS_PAYOUT_FILE_VERIFY_FAILED: 'not retriable',
  STS_PAYOUT_MISMATCH: 'not retriable',
  STS_PAYOUT_UNRESOLVED: 'not retriable',
  STS_PORT_IN_USE: 'not retriable',
  STS_PREREQUISITE_MISSING: 'not retriable',
  STS_RECON_FIX_REFUSED: 'not retriable',
  STS_REGISTRY_REFUSED: 'not retriable',
  STS_REGISTRY_UNAVAILABLE: 'retriable',
  STS_RETRIES_EXHAUSTED: 'not retriable',
  STS_SCHEMA_AHEAD: 'not retriable',
  STS_SCHEMA_BEHIND: 'not retriable',
  STS_SCHEMA_INCOMPATIBLE: 'not retriable',
  STS_SCHEMA_UNKNOWN: 'not retriable',
  STS_SERVICE_UNAVAILABLE: 'retriable',
  STS_SQL_MODE_UNSUPPORTED: 'not retriable',
  STS_STARTUP_FAILED: 'not retriable',
  STS_TOPICS_NOT_READY: 'retriable',
  STS_TOPOLOGY_INVALID: 'not retriable',
  STS_UNAUTHORIZED: 'not retriable',
  STS_UNEXPECTED: 'not retriable',
  STS_UNSUPPORTED_MEDIA: 'not retriable',
  STS_UPLOAD_ACTION_REFUSED: 'not retriable',
  STS_UPLOAD_REFUSED: 'not retriable',
  STS_VALIDATION_FAILED: 'not retriable',
  STS_WATERMARK_NOT_REACHED: 'retriable',
};

const ROOT = path.resolve(__dirname, '../..');
const SOURCE_DIRS = ['runtime', 'infra', 'topologies', 'contracts', 'processors', 'settlement', 'services', 'tools', 'ops', 'bench'];

/** Every .ts file under the source folders, relative to the project root. */
function sourceFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = path.join(dir, e.name);
      if (e.isDirectory()) walk(rel);
      else if (e.name.endsWith('.ts')) out.push(rel);
    }
  };
  for (const dir of SOURCE_DIRS) if (fs.existsSync(path.join(ROOT, dir))) walk(dir);
  return out.sort();
}

/** The error modules: runtime/errors.ts (the root class) and each area's `*-errors.ts`. */
const errorModules = () => sourceFiles().filter((f) => f === 'runtime/errors.ts' || f.endsWith('-errors.ts'));

describe('errors', () => {
  it('covers every error class of every error module, and no class of StsError lives outside one', async () => {
    const modules = errorModules();
    expect(modules).toContain('runtime/errors.ts');
    const loaded = (await Promise.all(modules.map((file) => import(path.join(ROOT, file))))) as Array<Record<string, unknown>>;
    const exported = loaded
      .flatMap((m) => Object.entries(m))
      .filter(
        ([name, v]) =>
          typeof v === 'function' &&
          name !== 'StsError' &&
          (v as { prototype?: unknown }).prototype instanceof StsError,
      )
      .map(([name]) => name)
      .sort();
    expect(samples.map(([n]) => n).sort()).toEqual(exported);
    // A class of StsError declared anywhere else would escape this test and the closed set's review.
    const strays = sourceFiles()
      .filter((file) => !modules.includes(file))
      .filter((file) => /\bextends StsError\b/.test(fs.readFileSync(path.join(ROOT, file), 'utf8')));
    expect(strays).toEqual([]);
  });

  it('gives each class its own STS_ code and its own name', () => {
    const codes = samples.map(([, e]) => e.code);
    for (const code of codes) expect(code).toMatch(/^STS_[A-Z_]+$/);
    expect(new Set(codes).size).toBe(codes.length);
    for (const [name, e] of samples) expect(e.name).toBe(name);
  });

  it('draws every code from one closed table, each once, with a one-line meaning', () => {
    expect(Object.keys(ERROR_CODES).sort()).toEqual(Object.keys(EVERY_CODE).sort());
    for (const [code, { retriable, meaning }] of Object.entries(ERROR_CODES)) {
      expect([code, retriable ? 'retriable' : 'not retriable']).toEqual([
        code,
        EVERY_CODE[code as ErrorCode],
      ]);
      expect(meaning).toMatch(/^[^\n]{10,120}$/);
    }
  });

  it("takes each class's code and retriable flag from the table", () => {
    for (const [name, e] of samples) {
      expect([name, Object.hasOwn(ERROR_CODES, e.code)]).toEqual([name, true]);
      expect([name, e.retriable]).toEqual([name, ERROR_CODES[e.code].retriable]);
    }
  });

  it('refuses a code outside the table at compile time', () => {
    // @ts-expect-error: a free string is not an ErrorCode (tsc fails if this line compiles).
    const e = new StsError('STS_WHATEVER', 'x');
    expect(e.retriable).toBe(false);
  });

  it('keeps context such as topic, partition and offset', () => {
    const e = new DecodeError('bad magic', { topic: 't', partition: 1, offset: '5' });
    expect(e.context).toMatchObject({ topic: 't', partition: 1, offset: '5' });
  });

  it('treats an unclassified error as not retriable', () => {
    const wrapped = asStsError(new Error('who knows'));
    expect(wrapped.code).toBe('STS_UNEXPECTED');
    expect(wrapped.retriable).toBe(false);
    // @ts-expect-error: only code that bypasses the types can pass a code outside the table.
    expect(new StsError('STS_X', 'x').retriable).toBe(false);
  });
});
