import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { useTestResources } from '../../fixtures/resources';
import { FIXTURES_DIR } from '../../fixtures/fixtures-dir';
import { PROJECT_ROOT } from '../../../runtime/config';

const FIXTURE = path.join(FIXTURES_DIR, 'killed-connection.ts');

/**
 * A pooled connection the server closed (a MariaDB restart, a KILL, wait_timeout) makes knex warn
 * when it next checks the pool. That warning goes to the process's JSON log with its level, not
 * to console.log, where it printed as a bare line in the middle of the chaos run's output.
 */
describe('knex warnings', () => {
  const res = useTestResources();

  it('logs a killed pooled connection as a pino warn line and queries on a new connection', async () => {
    const { url } = await res.database();
    const { stdout } = await promisify(execFile)(process.execPath, ['-r', 'tsx/cjs', FIXTURE], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, STS_MYSQL_URL: url, STS_LOG_LEVEL: 'warn' },
      timeout: 60_000,
    });
    const lines = stdout.trim().split('\n');
    const parsed = lines.map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return { unparsed: l };
      }
    });

    expect(parsed.filter((l) => 'unparsed' in l)).toEqual([]);
    const warning = parsed.find((l) => l.svc === 'knex');
    expect(warning).toMatchObject({ level: 40, msg: expect.stringMatching(/^Connection Error: Error: Connection lost/) });
    const result = parsed.find((l) => l.fixture === 'killed-connection')!;
    expect(result.second).not.toEqual(result.first);
  });
});
