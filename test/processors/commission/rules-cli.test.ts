import { runCli } from '../../fixtures/cli';
import { useTestResources } from '../../fixtures/resources';

const r = useTestResources();

describe('sts rules', () => {
  test('adds versions, refuses an overlap and a bad rate with a cause and a fix, and lists them', async () => {
    const { url } = await r.database();
    const env = { STS_MYSQL_URL: url, STS_LOG_LEVEL: 'warn' };

    const first = await runCli(
      [
        'rules',
        'add',
        '--region',
        'SG',
        '--category',
        '*',
        '--rate-bps',
        '250',
        '--min',
        '10',
        '--max',
        '652024209997893632',
        '--from',
        '2026-01-01',
        '--to',
        '2026-07-01T00:00:00Z',
        '--actor',
        'ops:alice',
        // Today is past 2026-01-01: the rule is retroactive (rule-warnings.test.ts covers that).
        '--confirm-warnings',
        '--json',
      ],
      env,
    );
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({
      ok: true,
      rule: {
        region: 'SG',
        category: '*',
        version: 1,
        rateBps: 250,
        minMinor: '10',
        maxMinor: '652024209997893632', // 18 digits, intact: a decimal string, never a number
        affiliateShareBps: 10000,
        effectiveFrom: '2026-01-01T00:00:00.000Z',
        effectiveTo: '2026-07-01T00:00:00.000Z',
        createdBy: 'ops:alice',
      },
    });

    const second = await runCli(
      [
        'rules',
        'add',
        '--region',
        'SG',
        '--category',
        '*',
        '--rate-bps',
        '300',
        '--affiliate-share-bps',
        '5000',
        '--from',
        '2026-07-01T00:00:00Z',
        '--confirm-warnings',
      ],
      env,
    );
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^added SG\/\* v2 \(id \d+\)$/m);

    const overlap = await runCli(
      [
        'rules',
        'add',
        '--region',
        'SG',
        '--category',
        '*',
        '--rate-bps',
        '300',
        '--from',
        '2026-06-30T00:00:00Z',
        '--to',
        '2026-07-02T00:00:00Z',
        '--json',
      ],
      env,
    );
    expect(overlap.code).toBe(1);
    expect(JSON.parse(overlap.stdout)).toMatchObject({
      ok: false,
      code: 'STS_COMMISSION_RULE_OVERLAP',
    });

    const badRate = await runCli(
      [
        'rules',
        'add',
        '--region',
        'SG',
        '--category',
        'books',
        '--rate-bps',
        '10001',
        '--from',
        '2026-01-01',
      ],
      env,
    );
    expect(badRate.code).toBe(1);
    expect(badRate.stderr).toMatch(
      /^error \[STS_COMMISSION_RULE_INVALID\]: .*rate_bps must be 0\.\.10000/m,
    );
    expect(badRate.stderr).toMatch(/^fix: /m);

    const localTime = await runCli(
      [
        'rules',
        'add',
        '--region',
        'SG',
        '--category',
        'books',
        '--rate-bps',
        '100',
        '--from',
        '2026-01-01T08:00:00',
      ],
      env,
    );
    expect(localTime.code).toBe(1);
    expect(localTime.stderr).toMatch(/--from must be ISO 8601 in UTC/);

    await runCli(
      [
        'rules',
        'add',
        '--region',
        'VN',
        '--category',
        'books',
        '--rate-bps',
        '100',
        '--from',
        '2026-01-01',
        '--confirm-warnings',
      ],
      env,
    );
    const listed = await runCli(['rules', 'list', '--region', 'SG', '--json'], env);
    expect(listed.code).toBe(0);
    const { rules } = JSON.parse(listed.stdout) as { rules: Array<Record<string, unknown>> };
    expect(rules.map((x) => [x.region, x.category, x.version, x.rateBps])).toEqual([
      ['SG', '*', 1, 250],
      ['SG', '*', 2, 300],
    ]);

    const text = await runCli(['rules', 'list'], env);
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n')[0]).toMatch(/^region\s+category\s+version\s+rateBps/);
    expect(text.stdout).toMatch(/VN\s+books\s+1\s+100/);
    // The table shows fee bounds as money in the region's currency; --json keeps minor-unit strings.
    expect(text.stdout.split('\n')[0]).toMatch(/\bmin fee\s+max fee\b/);
    expect(text.stdout).toMatch(/SG\s+\*\s+1\s+250\s+SGD 0\.10\s+SGD 6,520,242,099,978,936\.32\s/);
    expect(text.stdout).toMatch(/VN\s+books\s+1\s+100\s+VND 0\s+no cap\s/);
    expect(rules[0]).not.toHaveProperty('min fee');
  });
});
