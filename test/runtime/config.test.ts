import { loadConfig } from '../../runtime/config';

describe('loadConfig', () => {
  test('takes STS_MYSQL_BUFFER_POOL as a size for a private MariaDB, 512M by default', () => {
    expect(loadConfig({}).mysqlBufferPool).toBe('512M');
    expect(loadConfig({ STS_MYSQL_BUFFER_POOL: '4g' }).mysqlBufferPool).toBe('4G');
    expect(loadConfig({ STS_MYSQL_BUFFER_POOL: '134217728' }).mysqlBufferPool).toBe('134217728');
  });

  test('with STS_MYSQL_NODES above 1, connects through HAProxy on STS_MYSQL_PROXY_PORT; one node keeps STS_MYSQL_URL as it is', () => {
    expect(loadConfig({})).toMatchObject({ mysqlNodes: 1, mysqlUrl: 'mysql://root@127.0.0.1:3306/sts' });
    expect(loadConfig({ STS_MYSQL_NODES: '3' })).toMatchObject({ mysqlNodes: 3, mysqlUrl: 'mysql://root@127.0.0.1:3307/sts' });
    expect(loadConfig({ STS_MYSQL_NODES: '3', STS_MYSQL_PROXY_PORT: '23306', STS_MYSQL_URL: 'mysql://app:s3cret@localhost:3306/ledger' }).mysqlUrl).toBe('mysql://app:s3cret@localhost:23306/ledger');
    expect(() => loadConfig({ STS_MYSQL_NODES: '6' })).toThrow(/STS_MYSQL_NODES must be 1 to 5/);
    // The cluster runs on loopback: a remote URL with it is a contradiction, not something to guess.
    expect(() => loadConfig({ STS_MYSQL_NODES: '3', STS_MYSQL_URL: 'mysql://sts@db:3306/sts' })).toThrow(/a local Galera cluster runs on 127\.0\.0\.1, but STS_MYSQL_URL names db:3306/);
  });

  test('rejects a buffer pool that is not a size, saying what one looks like', () => {
    for (const bad of ['4 GB', '0', '-1G', 'big']) {
      expect(() => loadConfig({ STS_MYSQL_BUFFER_POOL: bad })).toThrow(
        /STS_MYSQL_BUFFER_POOL must be a size such as 512M or 4G/,
      );
    }
  });

  test('refuses each bounded variable outside its range, naming it and the range', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['STS_MAX_RECORD_BYTES', '1023', /STS_MAX_RECORD_BYTES must be at least 1024/],
      [
        'STS_MAX_RECORD_BYTES',
        String(64 * 1024 * 1024 + 1),
        /STS_MAX_RECORD_BYTES must be at most 64 MiB/,
      ],
      ['STS_EVENT_MAX_AGE_DAYS', '0', /STS_EVENT_MAX_AGE_DAYS must be at least 1/],
      ['STS_EVENT_MAX_AGE_DAYS', '3651', /STS_EVENT_MAX_AGE_DAYS must be at most 3650/],
      ['STS_EVENT_MAX_FUTURE_MS', '-1', /STS_EVENT_MAX_FUTURE_MS must be 0 or more/],
      [
        'STS_EVENT_MAX_FUTURE_MS',
        String(31 * 86_400_000 + 1),
        /STS_EVENT_MAX_FUTURE_MS must be at most 31 days/,
      ],
    ];
    for (const [name, value, message] of cases) {
      expect(() => loadConfig({ [name]: value })).toThrow(message);
    }
    expect(
      loadConfig({
        STS_MAX_RECORD_BYTES: '1024',
        STS_EVENT_MAX_AGE_DAYS: '3650',
        STS_EVENT_MAX_FUTURE_MS: '0',
      }),
    ).toMatchObject({
      maxRecordBytes: 1024,
      eventMaxAgeDays: 3650,
      eventMaxFutureMs: 0,
    });
  });

  test('refuses a malformed or unsafe STS_MONEY_BOUNDS at start, before any amount is checked', () => {
    const cases: Array<[string, RegExp]> = [
      ['SGD:item=abc', /STS_MONEY_BOUNDS: is invalid: "item=abc" in SGD is not item=N or payout=N/],
      ['sgd:item=1', /is not a three-letter ISO 4217 code/],
      ['SGD:item=10,payout=5', /SGD: item \(10\) must not exceed payout \(5\)/],
      ['SGD:payout=999999999999999999', /must be at most 999999998999999999/],
      ['SGD:item=0', /SGD item must be at least 1/],
    ];
    for (const [value, message] of cases) {
      let thrown: unknown;
      try {
        loadConfig({ STS_MONEY_BOUNDS: value });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toMatchObject({
        code: 'STS_CONFIG_INVALID',
        message: expect.stringMatching(message),
      });
      expect((thrown as Error).message).toContain('CUR:item=N,payout=N');
    }
    expect(() =>
      loadConfig({ STS_MONEY_BOUNDS: 'SGD:item=100000000,payout=1000000000;VND:item=5000000000' }),
    ).not.toThrow();
  });
});
