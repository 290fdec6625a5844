import { runCli } from '../../../fixtures/cli';
import { useTestResources } from '../../../fixtures/resources';

/** `sts rules add` shows a new version's warnings, exits 1 writing nothing, and writes and audits it with --confirm-warnings. */
const r = useTestResources();

test('a retroactive rate jump is refused until --confirm-warnings, which writes the rule and its audit row', async () => {
  const { db, url } = await r.database();
  const env = { STS_MYSQL_URL: url, STS_LOG_LEVEL: 'warn', STS_RULE_RATE_WARN_BPS: '100' };
  const from = new Date(Date.now() - 3 * 86_400_000).toISOString();
  await db('commission_rule').insert({
    region: 'SG',
    category: 'books',
    version: 1,
    rate_bps: 300,
    min_minor: 0,
    affiliate_share_bps: 10_000,
    effective_from: new Date('2026-01-01T00:00:00Z'),
    effective_to: new Date(from),
    created_by: 'test',
  });
  const args = [
    'rules',
    'add',
    '--region',
    'SG',
    '--category',
    'books',
    '--rate-bps',
    '450',
    '--from',
    from,
    '--actor',
    'ops:alice',
  ];

  const refused = await runCli(args, env);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(
    /^warning \[RATE_JUMP\]: rate 450 bps is \+150 bps from SG\/books v1 \(300 bps\), beyond the 100 bps bound$/m,
  );
  expect(refused.stderr).toMatch(/^warning \[RETROACTIVE\]: effective_from .* is in the past/m);
  expect(refused.stderr).toMatch(
    /^error \[STS_COMMISSION_RULE_UNCONFIRMED\]: the rule was not written/m,
  );
  expect(refused.stderr).toMatch(/^fix: .*--confirm-warnings/m);
  expect(await db('commission_rule').where({ category: 'books' }).pluck('version')).toEqual([1]);
  expect(await db('ops_audit').pluck('id')).toEqual([]);

  const confirmed = await runCli([...args, '--confirm-warnings'], env);
  expect(confirmed.code).toBe(0);
  expect(confirmed.stdout).toMatch(/^added SG\/books v2 \(id \d+\)$/m);
  expect(confirmed.stderr).toMatch(/^warning \[RATE_JUMP\], confirmed and audited: /m);
  const audit = (await db('ops_audit').select('actor', 'action', 'target', 'detail')) as Array<{
    actor: string;
    action: string;
    target: string;
    detail: string;
  }>;
  expect(audit).toHaveLength(1);
  expect(audit[0]).toMatchObject({
    actor: 'ops:alice',
    action: 'commission-rule.confirm-warnings',
  });
  const detail = JSON.parse(audit[0]!.detail) as {
    rule: { id: string; version: number };
    warnings: Array<{ kind: string }>;
  };
  expect(detail.rule).toMatchObject({ id: audit[0]!.target, version: 2 });
  expect(detail.warnings.map((w) => w.kind)).toEqual(['RATE_JUMP', 'RETROACTIVE']);
});
