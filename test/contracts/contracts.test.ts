import avro from 'avsc';
import { COMMISSION_REQUESTS } from '../../contracts/commission-request';
import { ORDER_EVENTS } from '../../contracts/order-event';
import { PAYOUTS, type PayoutEvent } from '../../contracts/payout';
import { PAYOUT_RESULTS, validatePayoutResult, type PayoutResult } from '../../contracts/payout-result';
import { UPLOAD_CHUNKS, validateUploadChunk, type UploadChunk } from '../../contracts/upload-chunk';
import { outboxTopic, type OutboxMessage, type OutboxWriter } from '../../runtime/outbox/outbox-writer';
import { settlementTopology } from '../../topologies/settlement';

const CONTRACTS = [ORDER_EVENTS, UPLOAD_CHUNKS, COMMISSION_REQUESTS, PAYOUTS, PAYOUT_RESULTS];

describe('contracts', () => {
  test('there is one contract per topic of the topology, with the schema file the topology names', () => {
    expect(CONTRACTS.map((c) => c.topic).sort()).toEqual(settlementTopology.topics.map((t) => t.name).sort());
    for (const c of CONTRACTS) {
      expect(c.schemaFile).toBe(settlementTopology.topics.find((t) => t.name === c.topic)!.schema);
      // The reader schema is a record avsc accepts.
      expect(avro.Type.forSchema(c.readerSchema as avro.Schema).typeName).toBe('record');
    }
  });

  test('the outbox writer takes only a contract\'s own value type for its topic', () => {
    // Compile-time: tsc (npm run lint, run by CI) fails if a line marked @ts-expect-error compiles.
    const writes = (outbox: OutboxWriter, payout: OutboxMessage<PayoutEvent>, result: OutboxMessage<PayoutResult>) => [
      outbox.add(null as never, PAYOUTS, [payout]),
      outbox.add(null as never, outboxTopic<PayoutResult>('a.test.topic'), [result]),
      // @ts-expect-error: a payout result is not a payout event
      outbox.add(null as never, PAYOUTS, [result]),
    ];
    expect(typeof writes).toBe('function');
  });
});

const chunk = (over: Partial<UploadChunk> = {}): UploadChunk => ({
  upload_id: 652024209997893632n,
  chunk_index: 0,
  columns: ['external_ref', 'shop_user_id', 'region', 'currency', 'amount', 'item_type'],
  rows: [
    { row_number: 1n, raw: 'r1,100000000000000001,SG,SGD,1.00,ADJUSTMENT', problem: null },
    { row_number: 7n, raw: '\uFFFD', problem: 'INVALID_ENCODING' },
  ],
  ...over,
});

describe('validateUploadChunk', () => {
  test('accepts a chunk as the intake cuts it, rows of one partition with gaps between them', () => {
    expect(() => validateUploadChunk(chunk())).not.toThrow();
    expect(() => validateUploadChunk(chunk({ rows: [] }))).not.toThrow();
  });

  test.each<[string, Partial<UploadChunk>, RegExp]>([
    ['a zero upload id', { upload_id: 0n }, /upload_id 0 is not a positive 64-bit integer/],
    ['an upload id past int64', { upload_id: 2n ** 63n }, /is not a positive 64-bit integer/],
    ['a negative chunk index', { chunk_index: -1 }, /chunk_index -1/],
    ['no header', { columns: [] }, /0 columns/],
    ['a column named twice', { columns: ['amount', 'amount'] }, /column amount appears twice/],
    ['an empty column name', { columns: [''] }, /empty or longer than 64/],
    ['row 0, the header\'s number', { rows: [{ row_number: 0n, raw: 'x', problem: null }] }, /row_number 0 does not follow 0/],
    ['rows out of order', { rows: [{ row_number: 5n, raw: 'x', problem: null }, { row_number: 5n, raw: 'y', problem: null }] }, /row_number 5 does not follow 5/],
    ['an unknown problem code', { rows: [{ row_number: 1n, raw: 'x', problem: 'DROP TABLE' as never }] }, /problem DROP TABLE is not one of INVALID_ENCODING/],
  ])('refuses %s with STS_VALIDATION_FAILED', (_name, over, message) => {
    expect(() => validateUploadChunk(chunk(over))).toThrow(expect.objectContaining({ code: 'STS_VALIDATION_FAILED', retriable: false, message: expect.stringMatching(message) }));
  });
});

const result = (over: Partial<PayoutResult> = {}): PayoutResult => ({
  event_id: 'payout-result:652024209997893632',
  payout_id: 652024209997893632n,
  shop_user_id: 100000000000000001n,
  region: 'SG',
  currency: 'SGD',
  amount_minor: 9007199254740993n,
  status: 'PAID',
  gateway_reference: 'gw-1',
  failure_code: null,
  decided_at: new Date('2026-12-01T00:00:00Z'),
  ...over,
});

describe('validatePayoutResult', () => {
  test('accepts a paid and a failed result', () => {
    expect(() => validatePayoutResult(result())).not.toThrow();
    expect(() => validatePayoutResult(result({ status: 'FAILED', failure_code: 'ACCOUNT_CLOSED' }))).not.toThrow();
  });

  test.each<[string, Partial<PayoutResult>, RegExp]>([
    ['an event id of another payout', { event_id: 'payout-result:1' }, /is not payout-result:652024209997893632/],
    ['a currency of another region', { currency: 'MYR' }, /does not belong to region SG/],
    ['a zero amount', { amount_minor: 0n }, /positive amount_minor/],
    ['a PAID result with a failure code', { failure_code: 'X' }, /PAID result carries no failure_code/],
    ['a FAILED result without one', { status: 'FAILED' }, /FAILED result names its failure_code/],
    ['an invalid instant', { decided_at: new Date(Number.NaN) }, /decided_at/],
  ])('refuses %s', (_name, over, message) => {
    expect(() => validatePayoutResult(result(over))).toThrow(message);
  });
});
