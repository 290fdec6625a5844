import * as errors from '../../runtime/errors';

/**
 * Every error class carries its own stable code, and only classified errors are retriable:
 * an unknown error retried forever is how a consumer loops on a poison message.
 */
const samples: Array<[string, errors.StsError]> = [
  ['ConfigError', new errors.ConfigError('bad')],
  ['PortInUseError', new errors.PortInUseError('kafka', 9092, 'free it')],
  ['ArtifactUnavailableError', new errors.ArtifactUnavailableError('kafka', 'offline')],
  ['PrerequisiteMissingError', new errors.PrerequisiteMissingError('java', 'install it')],
  [
    'ServiceUnavailableError',
    new errors.ServiceUnavailableError('mysql', 'h:1', 'refused', 'start it'),
  ],
  ['StartupFailedError', new errors.StartupFailedError('kafka', 'exited', '/tmp/log')],
  ['TopologyError', new errors.TopologyError(['x'])],
  ['SchemaIncompatibleError', new errors.SchemaIncompatibleError('s-value', '409')],
  ['DecodeError', new errors.DecodeError('bad magic', { topic: 't', partition: 1, offset: '5' })],
  ['ValidationError', new errors.ValidationError('bad region')],
  ['LockUnavailableError', new errors.LockUnavailableError('sts.outbox-relay', 'lost')],
  ['IdLeaseLostError', new errors.IdLeaseLostError('expired')],
  ['IdLeasesExhaustedError', new errors.IdLeasesExhaustedError(0, 128)],
  ['ClockBackwardsError', new errors.ClockBackwardsError('10 ms')],
  ['DlqPublishError', new errors.DlqPublishError('t.dlq', new Error('down'))],
  [
    'CommissionRuleInvalidError',
    new errors.CommissionRuleInvalidError(['rate_bps must be 0..10000']),
  ],
  ['CommissionRuleOverlapError', new errors.CommissionRuleOverlapError('SG', '*', 1)],
  ['CommissionRuleMissingError', new errors.CommissionRuleMissingError('SG', 'books', new Date(0))],
  [
    'CommissionChargeUnknownError',
    new errors.CommissionChargeUnknownError('SG', 652024209997893632n),
  ],
  ['CommissionConflictError', new errors.CommissionConflictError('second charge')],
  [
    'GatewayUnavailableError',
    new errors.GatewayUnavailableError('timeout', 'no response in 5000 ms'),
  ],
  [
    'GatewayKeyConflictError',
    new errors.GatewayKeyConflictError('payout-652024209997893632', 'amount differs'),
  ],
  [
    'GatewayRequestInvalidError',
    new errors.GatewayRequestInvalidError(400, 'amount_minor must be a string'),
  ],
  [
    'GatewayJournalCorruptError',
    new errors.GatewayJournalCorruptError('/tmp/executions.jsonl', 3, 'bad JSON'),
  ],
  [
    'PayoutFileInvalidError',
    new errors.PayoutFileInvalidError('amount must be positive', {
      payoutId: '652024209997893632',
    }),
  ],
  [
    'PayoutFileConflictError',
    new errors.PayoutFileConflictError(
      '/tmp/pain001-SG-20261116-SGD.xml',
      'exists with other bytes',
    ),
  ],
  ['PayoutFileUnreadableError', new errors.PayoutFileUnreadableError('/tmp/missing.xml', 'ENOENT')],
  ['AtomicWriteError', new errors.AtomicWriteError('/tmp/out.xml', 'ENOSPC')],
  ['UploadRefusedError', new errors.UploadRefusedError('MISSING_COLUMNS', 'missing amount')],
  ['NotFoundError', new errors.NotFoundError('upload', '652024209997893632')],
  [
    'WatermarkNotReachedError',
    new errors.WatermarkNotReachedError(
      'not reached in 60 s',
      'sts.commission sts.commission-requests.v1[3] 5 behind',
    ),
  ],
  ['CloseRefusedError', new errors.CloseRefusedError('cutoff is in the future')],
  ['PayoutMismatchError', new errors.PayoutMismatchError(652024209997893632n, 'amount 100 != 200')],
  [
    'LedgerInvariantError',
    new errors.LedgerInvariantError(652024209997893632n, 'CONFIRM after CANCEL'),
  ],
  ['PaymentsPausedError', new errors.PaymentsPausedError('open')],
  [
    'PayoutUnresolvedError',
    new errors.PayoutUnresolvedError(652024209997893632n, 'still unknown after 12 attempts'),
  ],
  ['KafkaClientUnsupportedError', new errors.KafkaClientUnsupportedError('no cluster factory')],
  ['KafkaReadError', new errors.KafkaReadError('sts.order-events.v1', 'leader moved')],
  [
    'TopicsNotReadyError',
    new errors.TopicsNotReadyError(
      ['sts.payouts.v1', 'sts.payouts.v1.dlq'],
      'UNKNOWN_TOPIC_OR_PARTITION after 30 s',
    ),
  ],
  ['AlertDeliveryError', new errors.AlertDeliveryError('HTTP 502')],
  [
    'DlqReplayRefusedError',
    new errors.DlqReplayRefusedError('no sts-original-topic header', {
      topic: 'sts.payouts.v1.dlq',
      partition: 0,
      offset: '7',
    }),
  ],
  [
    'ReconFixRefusedError',
    new errors.ReconFixRefusedError('cycle 20261116 of SG is CLOSED', {
      entity: 'SG/20261116/652024209997893632/SGD',
    }),
  ],
  ['ChaosRunError', new errors.ChaosRunError('kafka did not come back in 120 s')],
  [
    'SqlModeUnsupportedError',
    new errors.SqlModeUnsupportedError("SET SESSION sql_mode = 'STRICT_ALL_TABLES' failed"),
  ],
  [
    'IdCollisionError',
    new errors.IdCollisionError(
      'billing_item',
      "Duplicate entry '900000000000000001' for key 'PRIMARY'",
    ),
  ],
  [
    'RetriesExhaustedError',
    new errors.RetriesExhaustedError('STS_DB_LOCK', 'deadlock found', 8, 41_000),
  ],
];

describe('errors', () => {
  it('covers every exported error class', () => {
    const exported = Object.entries(errors)
      .filter(
        ([name, v]) =>
          typeof v === 'function' &&
          name !== 'StsError' &&
          (v as { prototype?: unknown }).prototype instanceof errors.StsError,
      )
      .map(([name]) => name)
      .sort();
    expect(samples.map(([n]) => n).sort()).toEqual(exported);
  });

  it('gives each class its own STS_ code and its own name', () => {
    const codes = samples.map(([, e]) => e.code);
    for (const code of codes) expect(code).toMatch(/^STS_[A-Z_]+$/);
    expect(new Set(codes).size).toBe(codes.length);
    for (const [name, e] of samples) expect(e.name).toBe(name);
  });

  it('keeps context such as topic, partition and offset', () => {
    const e = new errors.DecodeError('bad magic', { topic: 't', partition: 1, offset: '5' });
    expect(e.context).toMatchObject({ topic: 't', partition: 1, offset: '5' });
  });

  it('treats an unclassified error as not retriable', () => {
    const wrapped = errors.asStsError(new Error('who knows'));
    expect(wrapped.code).toBe('STS_UNEXPECTED');
    expect(wrapped.retriable).toBe(false);
    expect(new errors.StsError('STS_X', 'x').retriable).toBe(false);
  });
});
