import type { Command, Option } from 'commander';

/**
 * Holds the docs against the CLI: finds every `sts …`, `npx sts …`, `node bin/sts.js …` and
 * `npm run X -- …` in the code spans and fenced blocks of some markdown, resolves each against the
 * commander program that bin/sts.js runs, and reports what does not exist, with the nearest valid
 * name. Prose outside code is not read: only code is meant to be typed.
 *
 * Inputs: markdown texts, the program, the package.json scripts, and the names that some
 * arguments must take (processors for `sts run`, recon rules). Outputs: problems as
 * "file:line: what is wrong", and the command paths each doc mentions (for the reverse check).
 */

export interface DocFile {
  file: string;
  text: string;
}

export interface ArgumentNames {
  /** `sts run <processors...>`: processor names; "all" is always valid. */
  processors: readonly string[];
  /** `sts recon fix <rule>` and `sts recon run|list --rule`. */
  reconRules: readonly string[];
}

export interface ScanResult {
  problems: string[];
  /** Command paths mentioned, e.g. "settle close", "upload status" (the upload actions count). */
  mentionedCommands: Set<string>;
  /** package.json scripts mentioned as `npm run X` (or `npm test`). */
  mentionedScripts: Set<string>;
}

interface Segment {
  line: number;
  text: string;
}

interface Token {
  text: string;
  quoted: boolean;
}

/** `sts upload <file|action> [id]`: the actions come from the argument's own help text. */
export function uploadActions(program: Command): string[] {
  const upload = program.commands.find((c) => c.name() === 'upload');
  const arg = upload?.registeredArguments[0];
  const match = /one of: ([\w, ]+)/.exec(arg?.description ?? '');
  if (!match?.[1])
    throw new Error(
      `sts upload: cannot read its actions from the <file|action> help text (${arg?.description}); update test/docs/doc-invocations.ts`,
    );
  return match[1].split(',').map((s) => s.trim());
}

/** Every command path of the program, as "a b"; the implicit `help` command is commander's own. */
export function commandPaths(program: Command): string[] {
  const out: string[] = [];
  const walk = (cmd: Command, prefix: string[]) => {
    for (const sub of visibleSubcommands(cmd)) {
      const p = [...prefix, sub.name()];
      out.push(p.join(' '));
      walk(sub, p);
    }
  };
  walk(program, []);
  return out;
}

export function scanDocs(
  docs: DocFile[],
  program: Command,
  scripts: Record<string, string>,
  names: ArgumentNames,
): ScanResult {
  const result: ScanResult = {
    problems: [],
    mentionedCommands: new Set(),
    mentionedScripts: new Set(),
  };
  const actions = uploadActions(program);
  const allFlags = ['--help', '-h'];
  const collect = (cmd: Command) => {
    for (const o of cmd.options)
      allFlags.push(...[o.long, o.short].filter((f): f is string => !!f));
    cmd.commands.forEach(collect);
  };
  collect(program);
  for (const doc of docs) {
    for (const seg of segments(doc.text)) {
      const where = `${doc.file}:${seg.line}`;
      for (const inv of findInvocations(seg.text, scripts, where, result)) {
        checkInvocation(inv.tokens, program, actions, names, inv.label, where, result);
      }
      // A span of options alone (`--smoke`) cannot say its command: it must be some command's.
      if (/^\s*--?[a-z][\w-]*(\s+--?[a-z][\w-]*)*\s*$/i.test(seg.text)) {
        for (const flag of seg.text.trim().split(/\s+/))
          if (!allFlags.includes(flag))
            result.problems.push(
              `${where}: no sts command has the option ${flag}${nearest(flag, allFlags)}`,
            );
      }
    }
  }
  return result;
}

/**
 * The code of a markdown text: each line of a fenced block (its `# comment` read as prose, so only
 * the code spans in it count) and each inline code span. Line numbers are 1-based.
 */
export function segments(markdown: string): Segment[] {
  const lines = markdown.split('\n');
  const out: Segment[] = [];
  const prose: string[] = [];
  let fence: string | null = null;
  lines.forEach((line, i) => {
    const marker = /^\s{0,3}(`{3,}|~{3,})(.*)$/.exec(line);
    if (fence === null && marker?.[1]) {
      fence = marker[1];
      prose.push('');
      return;
    }
    if (fence !== null) {
      if (
        marker?.[1] &&
        marker[1][0] === fence[0] &&
        marker[1].length >= fence.length &&
        !marker[2]?.trim()
      )
        fence = null;
      else {
        const comment = /(^|\s)#/.exec(line);
        const code = comment ? line.slice(0, comment.index) : line;
        out.push({ line: i + 1, text: code });
        if (comment) out.push(...inlineSpans(line.slice(comment.index), i + 1));
      }
      prose.push('');
      return;
    }
    prose.push(line);
  });
  out.push(...inlineSpans(prose.join('\n'), 1));
  return out.sort((a, b) => a.line - b.line);
}

function inlineSpans(text: string, firstLine: number): Segment[] {
  const out: Segment[] = [];
  const span = /(`+)(?!`)([\s\S]*?[^`])\1(?!`)/g;
  for (let m = span.exec(text); m; m = span.exec(text)) {
    const line = firstLine + (text.slice(0, m.index).match(/\n/g)?.length ?? 0);
    out.push({ line, text: (m[2] ?? '').replace(/\n/g, ' ') });
  }
  return out;
}

const STS = /(?<![\w./-])(?<!npm\s+run\s+)(?:npx\s+)?(?:node\s+bin\/sts\.js|sts)(?=\s|$)/g;
const NPM = /(?<![\w./-])npm\s+(?:(?:run|run-script)\s+(?:-s\s+)?([\w:.-]+)|(test|t|start)\b)/g;

/** The invocations in one code segment, each as the tokens after `sts`. */
function findInvocations(
  text: string,
  scripts: Record<string, string>,
  where: string,
  result: ScanResult,
): { tokens: Token[]; label: string }[] {
  const found: { tokens: Token[]; label: string }[] = [];
  for (let m = STS.exec(text); m; m = STS.exec(text)) {
    found.push({ tokens: tokenize(text.slice(m.index + m[0].length)), label: 'sts' });
  }
  for (let m = NPM.exec(text); m; m = NPM.exec(text)) {
    const name = m[1] ?? (m[2] === 't' ? 'test' : (m[2] ?? ''));
    if (!(name in scripts)) {
      result.problems.push(
        `${where}: \`npm run ${name}\`: package.json has no script "${name}"${nearest(name, Object.keys(scripts))}`,
      );
      continue;
    }
    result.mentionedScripts.add(name);
    const tokens = tokenize(text.slice(m.index + m[0].length));
    const dashdash = tokens.findIndex((t) => t.text === '--' && !t.quoted);
    const args = dashdash >= 0 ? tokens.slice(dashdash + 1) : [];
    // The script runs `sts …` as its last step: the doc's arguments go to that command.
    const last = (scripts[name] ?? '').split('&&').pop()?.trim() ?? '';
    const sts = /^(?:node\s+bin\/sts\.js|sts)(?:\s+(.*))?$/.exec(last);
    if (sts) found.push({ tokens: [...tokenize(sts[1] ?? ''), ...args], label: `npm run ${name}` });
  }
  return found;
}

/** Shell-like words up to the end of the command: a comment, pipe, redirect or diagram arrow. */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const stop = text.indexOf('`');
  const s = stop >= 0 ? text.slice(0, stop) : text;
  const word = /\s*(?:'([^']*)'|"([^"]*)"|(\S+))/gy;
  for (let m = word.exec(s); m; m = word.exec(s)) {
    if (m[3] === undefined) {
      tokens.push({ text: m[1] ?? m[2] ?? '', quoted: true });
      continue;
    }
    let t = m[3];
    if (/^(#|\||&|;|>|<$|\d>|\(|\)|\/$)|[─►→]/.test(t)) break;
    const end = /[;,]$/.test(t);
    t = t.replace(/[;,]$/, '');
    tokens.push({ text: t, quoted: false });
    if (end) break;
  }
  return tokens;
}

function visibleSubcommands(cmd: Command): Command[] {
  // visibleCommands adds commander's implicit `help` command, which is not in cmd.commands.
  return cmd
    .createHelp()
    .visibleCommands(cmd)
    .filter((c) => cmd.commands.includes(c));
}

const isPlaceholder = (t: string) =>
  /^<.*>$/.test(t) || /^[A-Z][A-Z0-9_]*(\.\.\.|…)?$/.test(t) || t.startsWith('$');
const isElision = (t: string) => t === '…' || t === '...';
const stripOptionalBrackets = (t: string) => t.replace(/^\[+/, '').replace(/\]+$/, '');

function checkInvocation(
  raw: Token[],
  program: Command,
  actions: string[],
  names: ArgumentNames,
  label: string,
  where: string,
  result: ScanResult,
): void {
  const problem = (what: string) => result.problems.push(`${where}: ${what}`);
  const tokens = raw.map((t) => (t.quoted ? t : { ...t, text: stripOptionalBrackets(t.text) }));
  let cmd = program;
  const path: string[] = [];
  const positionals: string[] = [];
  const ruleValues: string[] = [];
  let elided = false;
  const shown = () => ['sts', ...path].join(' ');

  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!.text;
    if (!tokens[i]!.quoted && isElision(t)) {
      elided = true;
      break;
    }
    if (!tokens[i]!.quoted && /^-/.test(t) && t !== '-') {
      const flag = t.split('=')[0]!;
      if (flag === '--help' || flag === '-h') continue;
      const option = cmd.options.find((o: Option) => o.long === flag || o.short === flag);
      if (!option) {
        const valid = cmd.options.flatMap((o) => [o.long, o.short]).filter((f): f is string => !!f);
        problem(
          `\`${shown()}\` has no option ${flag}${nearest(flag, [...valid, '--help'])}${label === 'sts' ? '' : ` (via ${label})`}`,
        );
        continue;
      }
      if (t.includes('=') || !(option.required || option.optional)) continue;
      const takes = (j: number) =>
        j < tokens.length &&
        !(tokens[j]!.text.startsWith('-') && !tokens[j]!.quoted) &&
        !isElision(tokens[j]!.text);
      const values: string[] = [];
      if (option.variadic) while (takes(i + 1)) values.push(tokens[++i]!.text);
      else if (takes(i + 1) || (option.required && i + 1 < tokens.length))
        values.push(tokens[++i]!.text);
      if (option.long === '--rule' && path[0] === 'recon') ruleValues.push(...values);
      continue;
    }
    const subs = visibleSubcommands(cmd);
    if (positionals.length === 0 && subs.length > 0) {
      const sub = cmd.commands.find((c) => c.name() === t || c.aliases().includes(t));
      if (!sub) {
        problem(
          `\`${shown()} ${t}\`: no such command${nearest(
            t,
            subs.map((c) => c.name()),
          )}`,
        );
        return;
      }
      cmd = sub;
      path.push(sub.name());
      result.mentionedCommands.add(path.join(' '));
      continue;
    }
    positionals.push(t);
  }
  if (path.length === 0) return; // `sts` on its own names the tool, not a command

  const p = path.join(' ');
  if (p === 'upload' && positionals[0] !== undefined) {
    const first = positionals[0];
    if (actions.includes(first)) {
      result.mentionedCommands.add(`upload ${first}`);
      if (first === 'list' && positionals.length > 1)
        problem(`\`sts upload list\` takes no id (got ${positionals[1]})`);
    } else if (!/[./]/.test(first) && !isPlaceholder(first)) {
      problem(
        `\`sts upload ${first}\`: not an upload action, and not a file path${nearest(first, actions)}`,
      );
    }
  }
  if (p === 'run')
    for (const name of positionals.filter((x) => !isPlaceholder(x) && x !== 'all'))
      if (!names.processors.includes(name))
        problem(
          `\`sts run ${name}\`: no such processor${nearest(name, ['all', ...names.processors])}`,
        );
  const rules = [...ruleValues, ...(p === 'recon fix' && positionals[0] ? [positionals[0]] : [])];
  for (const name of rules.filter((x) => !isPlaceholder(x)))
    if (!names.reconRules.includes(name))
      problem(`\`${shown()}\`: no recon rule "${name}"${nearest(name, names.reconRules)}`);

  if (elided) return;
  const args = cmd.registeredArguments;
  const max = args.some((a) => a.variadic) ? Infinity : args.length;
  if (positionals.length > max)
    problem(
      `\`${shown()}\` takes ${max === 0 ? 'no arguments' : `at most ${max} argument(s) (${cmd.usage()})`}, the docs give ${positionals.map((x) => `"${x}"`).join(' ')}`,
    );
}

/** ", nearest: X" for the candidate with the fewest edits, or "" when there is none. */
export function nearest(word: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = levenshtein(word, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best === undefined ? '' : `; nearest valid: ${best}`;
}

function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(
        prev[j]! + 1,
        cur[j - 1]! + 1,
        prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    prev = cur;
  }
  return prev[b.length]!;
}
