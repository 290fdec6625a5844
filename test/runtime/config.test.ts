import { loadConfig } from '../../runtime/config';

describe('loadConfig', () => {
  test('takes STS_MYSQL_BUFFER_POOL as a size for a private MariaDB, 512M by default', () => {
    expect(loadConfig({}).mysqlBufferPool).toBe('512M');
    expect(loadConfig({ STS_MYSQL_BUFFER_POOL: '4g' }).mysqlBufferPool).toBe('4G');
    expect(loadConfig({ STS_MYSQL_BUFFER_POOL: '134217728' }).mysqlBufferPool).toBe('134217728');
  });

  test('rejects a buffer pool that is not a size, saying what one looks like', () => {
    for (const bad of ['4 GB', '0', '-1G', 'big']) {
      expect(() => loadConfig({ STS_MYSQL_BUFFER_POOL: bad })).toThrow(
        /STS_MYSQL_BUFFER_POOL must be a size such as 512M or 4G/,
      );
    }
  });
});
