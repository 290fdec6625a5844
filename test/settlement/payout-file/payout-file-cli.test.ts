import fs from 'node:fs/promises';
import path from 'node:path';
import { writePayoutFiles } from '../../../settlement/payout-file/payout-files';
import { runCli } from '../../fixtures/cli';
import { useTestResources } from '../../fixtures/resources';
import { BASE_ID, CYCLE, seedPayouts, tempDataDir } from '../../fixtures/seed-payouts';

const r = useTestResources();

describe('sts payout-file verify', () => {
  let file: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    const { db, url } = await r.database();
    await seedPayouts(db, [
      {
        id: BASE_ID + 1n,
        shopUserId: BASE_ID + 11n,
        amountMinor: 1500000n,
        region: 'VN',
        currency: 'VND',
      },
      {
        id: BASE_ID + 2n,
        shopUserId: BASE_ID + 12n,
        amountMinor: 7n,
        region: 'VN',
        currency: 'VND',
      },
    ]);
    const result = await writePayoutFiles(db, await tempDataDir(r), 'VN', CYCLE);
    file = result.files[0]!.path;
    env = { STS_MYSQL_URL: url };
  });

  it('exits 0 on a good file, against the database and with --no-db', async () => {
    const json = await runCli(['payout-file', 'verify', file, '--json'], env);
    expect(json.code).toBe(0);
    const result = JSON.parse(json.stdout) as {
      ok: boolean;
      checks: Array<{ name: string; ok: boolean }>;
    };
    expect(result.ok).toBe(true);
    expect(result.checks.map((c) => c.name)).toContain('db-complete');

    const text = await runCli(['payout-file', 'verify', file, '--no-db'], {
      STS_MYSQL_URL: 'mysql://root@127.0.0.1:1/nowhere',
    });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(': ok (database checks skipped: --no-db)');
  });

  it('exits 1 and lists the failed checks for a tampered file', async () => {
    const copy = path.join(await tempDataDir(r), path.basename(file));
    await fs.writeFile(copy, (await fs.readFile(file, 'utf8')).replace('>1500000<', '>1500001<'));
    await fs.copyFile(`${file}.manifest.json`, `${copy}.manifest.json`);
    const run = await runCli(['payout-file', 'verify', copy], env);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/FAILED \(\d+ of 11 checks\)/);
    for (const name of ['ctrl-sum', 'sha256', 'db-payouts'])
      expect(run.stdout).toMatch(new RegExp(`^${name}\\s+FAILED`, 'm'));
    expect(run.stdout).not.toMatch(/^nb-of-txs/m);
  });

  it('exits 1 with the error code when the file cannot be read', async () => {
    const run = await runCli(
      ['payout-file', 'verify', '/nonexistent/pain001-VN-20261116-VND.xml', '--no-db'],
      env,
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('error [STS_PAYOUT_FILE_UNREADABLE]');
    expect(run.stderr).toContain('fix: ');
  });
});
