import fs from 'node:fs';
import path from 'node:path';
import { buildProgram } from '../../ops/cli/main';
import { RECON_RULES } from '../../services/recon/rules';
import { PROCESSOR_CATALOG } from '../../services/run/processor-catalog';
import { commandPaths, scanDocs, uploadActions, type DocFile } from './doc-invocations';
import { PROJECT_ROOT } from '../../runtime/config';

/**
 * The docs agree with the CLI's --help (issue 8). Every `sts …`, `npx sts …`, `node bin/sts.js …`
 * and `npm run X -- …` in a code span or fenced block of README.md and docs/*.md must name a
 * command that exists, with options that command has; and every command, subcommand, upload action
 * and npm script must be shown somewhere, so a new one cannot ship undocumented.
 */

const root = PROJECT_ROOT;
const scripts = (
  JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  }
).scripts;
const names = {
  processors: Object.keys(PROCESSOR_CATALOG),
  reconRules: RECON_RULES.map((r) => r.name),
};
const docsListed = 'README.md or docs/*.md';

function readDocs(): DocFile[] {
  const docs = fs
    .readdirSync(path.join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`);
  return ['README.md', ...docs].map((file) => ({
    file,
    text: fs.readFileSync(path.join(root, file), 'utf8'),
  }));
}

/** What the reverse check reports: each command, upload action and script no doc shows. */
function unmentioned(docs: DocFile[], program = buildProgram(), pkgScripts = scripts): string[] {
  const scan = scanDocs(docs, program, pkgScripts, names);
  const wanted = [...commandPaths(program), ...uploadActions(program).map((a) => `upload ${a}`)];
  return [
    ...wanted
      .filter((c) => !scan.mentionedCommands.has(c))
      .map((c) => `\`sts ${c}\` is not shown in any code span or block of ${docsListed}`),
    ...Object.keys(pkgScripts)
      .filter((s) => !scan.mentionedScripts.has(s))
      .map((s) => `\`npm run ${s}\` (package.json) is not shown in ${docsListed}`),
  ];
}

describe('docs and the sts CLI', () => {
  it('builds the program without parsing argv or running a command', () => {
    const program = buildProgram();
    expect(program.name()).toBe('sts');
    expect(commandPaths(program)).toEqual(
      expect.arrayContaining(['upload', 'settle close', 'payout-file verify', 'recon fix']),
    );
  });

  it('names only commands and options that exist, in every code span and block of the docs', () => {
    const { problems } = scanDocs(readDocs(), buildProgram(), scripts, names);
    expect(problems).toEqual([]);
  });

  it('shows every command, subcommand, upload action and npm script somewhere in the docs', () => {
    expect(unmentioned(readDocs())).toEqual([]);
  });

  describe('the checker itself', () => {
    const doc = (text: string): DocFile[] => [{ file: 'X.md', text }];
    const problems = (text: string) => scanDocs(doc(text), buildProgram(), scripts, names).problems;

    it('reports a wrong command path, option, upload action, processor or rule with the nearest name', () => {
      const found = problems(
        [
          'Close with `npx sts settle clos --region SG`; `--drian` waits.',
          '',
          '```sh',
          'npx sts lag --wach            # not `sts dlq lsit` either',
          'npx sts upload statsu 42',
          'node bin/sts.js run upload-ingest',
          'npx sts recon list --rule payout-sal',
          'npm run demo -- --smok',
          'npm run nosuch',
          'npx sts topology extra',
          '```',
        ].join('\n'),
      );
      expect(found).toEqual([
        'X.md:1: `sts settle clos`: no such command; nearest valid: close',
        'X.md:1: no sts command has the option --drian; nearest valid: --drain',
        'X.md:4: `sts lag` has no option --wach; nearest valid: --watch',
        'X.md:4: `sts dlq lsit`: no such command; nearest valid: list',
        'X.md:5: `sts upload statsu`: not an upload action, and not a file path; nearest valid: status',
        'X.md:6: `sts run upload-ingest`: no such processor; nearest valid: upload-ingestion',
        'X.md:7: `sts recon list`: no recon rule "payout-sal"; nearest valid: payout-sla',
        'X.md:8: `sts demo` has no option --smok; nearest valid: --smoke (via npm run demo)',
        'X.md:9: `npm run nosuch`: package.json has no script "nosuch"; nearest valid: bench',
        'X.md:10: `sts topology` takes no arguments, the docs give "extra"',
      ]);
    });

    it('accepts placeholders, optional brackets, negated options, redirects and elisions', () => {
      expect(
        problems(
          [
            '`npx sts recon run [--rule NAME...] [--json]`, `sts run <processor>`,',
            '`npx sts payout-file verify FILE --no-db`, `sts rules add …`',
            '```',
            'npx sts upload rejects <id> > rejects.csv',
            'npx sts run all --no-relay --no-api',
            "npx sts rules add --region SG --category '*' --rate-bps 250 --from 2026-01-01T00:00:00Z",
            'sts settle close (watermark reached) ─► payouts',
            '```',
          ].join('\n'),
        ),
      ).toEqual([]);
    });

    it('reports a command, subcommand or npm script that no doc shows (a new `sts chaos`, say)', () => {
      const program = buildProgram();
      program.command('probe-undocumented').command('deeper');
      const missing = unmentioned(readDocs(), program, {
        ...scripts,
        'probe-undocumented': 'node bin/sts.js probe-undocumented',
      });
      expect(missing).toEqual(
        expect.arrayContaining([
          '`sts probe-undocumented` is not shown in any code span or block of README.md or docs/*.md',
          '`sts probe-undocumented deeper` is not shown in any code span or block of README.md or docs/*.md',
          '`npm run probe-undocumented` (package.json) is not shown in README.md or docs/*.md',
        ]),
      );
    });
  });
});
