import { ServiceUnavailableError } from '../../../infra/stack-errors';
import { DlqPublishError } from '../../../runtime/processor/processor-errors';
import { DecodeError } from '../../../runtime/registry/registry-errors';
import { resolveProcessorOptions } from '../../../runtime/processor/processor-options';
import { backoffDelay, errorCode, isRetriable } from '../../../runtime/processor/retry-policy';

const sqlError = (code: string, errno: number) => Object.assign(new Error(code), { code, errno });

describe('retry policy', () => {
  test('deadlocks, lock wait timeouts, lost connections and pool timeouts are retriable', () => {
    expect(isRetriable(sqlError('ER_LOCK_DEADLOCK', 1213))).toBe(true);
    expect(isRetriable(sqlError('ER_LOCK_WAIT_TIMEOUT', 1205))).toBe(true);
    for (const code of ['PROTOCOL_CONNECTION_LOST', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT']) {
      expect(isRetriable(Object.assign(new Error(code), { code }))).toBe(true);
    }
    const knexTimeout = new Error(
      'Knex: Timeout acquiring a connection. The pool is probably full.',
    );
    knexTimeout.name = 'KnexTimeoutError';
    expect(isRetriable(knexTimeout)).toBe(true);
    expect(isRetriable(new Error('outer', { cause: sqlError('ER_LOCK_DEADLOCK', 1213) }))).toBe(
      true,
    );
  });

  test('a write that lost to another node, and a node not ready for queries, are retriable', () => {
    const galera = (code: string, errno: number, message: string) => Object.assign(new Error(message), { code, errno });
    expect(isRetriable(galera('ER_LOCK_DEADLOCK', 1213, 'WSREP detected deadlock/conflict and aborted the transaction. Try restarting the transaction'))).toBe(true);
    expect(isRetriable(galera('ER_UNKNOWN_COM_ERROR', 1047, 'WSREP has not yet prepared node for application use'))).toBe(true);
    // 1047 without WSREP is a command the server does not know: no retry heals it.
    expect(isRetriable(galera('ER_UNKNOWN_COM_ERROR', 1047, 'Unknown command'))).toBe(false);
    for (const errno of [9007, 8002, 8022]) {
      expect(isRetriable(Object.assign(new Error(`TiDB ${errno}`), { errno }))).toBe(true);
    }
    expect(isRetriable(galera('ER_TRANSACTION_ROLLBACK_DURING_COMMIT', 3101, 'Plugin instructed the server to rollback the current transaction.'))).toBe(true);
  });

  test('a commit a Galera node could not replicate outside a primary component is retriable; other commit errors are not', () => {
    const commitError = (message: string) => Object.assign(new Error(`COMMIT; - ${message}`), { code: 'ER_ERROR_DURING_COMMIT', errno: 1180 });
    expect(isRetriable(commitError('Error while appending streaming replication fragment(provider status: Not connected to Primary Component)'))).toBe(true);
    expect(isRetriable(commitError('Got error 28 "No space left on device" during COMMIT'))).toBe(false);
  });

  test('an StsError is retried exactly when its own flag says so', () => {
    expect(isRetriable(new ServiceUnavailableError('mysql', 'x', 'down', 'start it'))).toBe(true);
    expect(isRetriable(new DlqPublishError('t.dlq', new Error('x')))).toBe(true);
    expect(isRetriable(new DecodeError('bad', {}))).toBe(false);
    // Even when its cause would be retriable: the raiser classified it.
    expect(isRetriable(new DecodeError('x', {}, sqlError('ER_LOCK_DEADLOCK', 1213)))).toBe(false);
  });

  test('unknown errors and SQL errors about the data are not retriable', () => {
    expect(isRetriable(new Error('boom'))).toBe(false);
    expect(isRetriable(sqlError('ER_DUP_ENTRY', 1062))).toBe(false);
    expect(isRetriable(sqlError('ER_DATA_TOO_LONG', 1406))).toBe(false);
    expect(isRetriable('a string')).toBe(false);
    expect(isRetriable(null)).toBe(false);
    expect(errorCode(new Error('boom'))).toBe('STS_UNEXPECTED');
    expect(errorCode(new DecodeError('bad', {}))).toBe('STS_DECODE_FAILED');
  });

  test('backoff doubles from the first delay, is jittered, and never exceeds the cap', () => {
    const opts = { initialDelayMs: 100, maxDelayMs: 5000 };
    expect(backoffDelay(0, opts, () => 1)).toBe(100);
    expect(backoffDelay(0, opts, () => 0)).toBe(50);
    expect(backoffDelay(3, opts, () => 1)).toBe(800);
    expect(backoffDelay(1000, opts, () => 1)).toBe(5000);
    expect(backoffDelay(1000, opts, () => 0)).toBe(2500);
  });

  test('processor options are checked together, with a message that says how to fix them', () => {
    expect(resolveProcessorOptions().maxRecordsPerTransaction).toBe(1000);
    expect(() =>
      resolveProcessorOptions({ sessionTimeout: 6000, heartbeatInterval: 3000 }),
    ).toThrow(
      /heartbeatInterval must be at most a third of sessionTimeout; lower heartbeatInterval/,
    );
    expect(() => resolveProcessorOptions({ maxRecordsPerTransaction: 0 })).toThrow(
      /maxRecordsPerTransaction/,
    );
    expect(() => resolveProcessorOptions({ nope: 1 } as never)).toThrow(/processor option/);
  });
});
