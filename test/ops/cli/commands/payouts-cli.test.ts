import { runCli } from '../../../fixtures/cli';
import { useTestResources } from '../../../fixtures/resources';
import { BASE_ID, seedPayouts } from '../../../fixtures/seed-payouts';

/**
 * `sts payouts list` as an operator reads it: the amount column is money (currency, major units by
 * the currency's exponent, thousands grouped), while --json keeps the minor-unit decimal strings
 * a program reads, and nothing formatted beside them.
 */
const r = useTestResources();

test('the table shows amounts in major units; --json keeps minor-unit strings only', async () => {
  const { db, url } = await r.database();
  const env = { STS_MYSQL_URL: url, STS_LOG_LEVEL: 'warn' };
  await seedPayouts(db, [
    { id: BASE_ID + 1n, shopUserId: 930000000000000001n, amountMinor: 235379n },
    { id: BASE_ID + 2n, shopUserId: 930000000000000002n, amountMinor: 15000n, region: 'VN', currency: 'VND' },
    { id: BASE_ID + 3n, shopUserId: 930000000000000003n, amountMinor: 123456789012345678n, region: 'ID', currency: 'IDR' },
  ]);

  const text = await runCli(['payouts', 'list'], env);
  expect(text.stderr).toBe('');
  expect(text.code).toBe(0);
  const line = (id: bigint) => text.stdout.split('\n').find((l) => l.startsWith(id.toString()))!;
  expect(line(BASE_ID + 1n)).toMatch(/\sSGD 2,353\.79\s+PENDING\s/);
  expect(line(BASE_ID + 2n)).toMatch(/\sVND 15,000\s+PENDING\s/);
  expect(line(BASE_ID + 3n)).toMatch(/\sIDR 1,234,567,890,123,456\.78\s+PENDING\s/);
  expect(text.stdout).not.toMatch(/235379|123456789012345678/);

  const json = await runCli(['payouts', 'list', '--json'], env);
  expect(json.code).toBe(0);
  const { payouts } = JSON.parse(json.stdout) as { payouts: Array<Record<string, unknown>> };
  expect(payouts.map((p) => p.amountMinor)).toEqual(['235379', '15000', '123456789012345678']);
  expect(json.stdout).not.toContain('2,353.79');
});
