import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ArtifactUnavailableError, PrerequisiteMissingError } from './stack-errors';
import { which } from './process-control';

/**
 * Fetches Java artifacts through Maven, into a folder under STS_DATA_DIR. A `.complete` marker that
 * records what was asked for makes a second call free, so a warm `sts up` never touches the
 * network; a changed request (a new version in the pom) fetches again.
 *
 * Failure codes: STS_PREREQUISITE_MISSING (no mvn), STS_ARTIFACT_UNAVAILABLE (offline, missing
 * artifact, timeout).
 */

export interface MavenFetch {
  /** What the log and errors call it. */
  label: string;
  /** Either a pom whose dependencies are copied, or one artifact's coordinates g:a:v[:type[:classifier]]. */
  pom?: string;
  artifact?: string;
  outputDir: string;
  /** Extra mvn arguments, e.g. ['-o'] to forbid network access. */
  extraArgs?: string[];
  timeoutMs?: number;
}

export async function fetchWithMaven(req: MavenFetch): Promise<{ fetched: boolean }> {
  const fingerprint = requestFingerprint(req);
  const marker = path.join(req.outputDir, '.complete');
  if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === fingerprint) return { fetched: false };

  const mvn = which('mvn');
  if (!mvn) throw new PrerequisiteMissingError('Apache Maven (mvn)', 'apt-get install maven');

  fs.mkdirSync(req.outputDir, { recursive: true });
  const goal = req.pom
    ? ['-f', req.pom, 'dependency:copy-dependencies', `-DoutputDirectory=${req.outputDir}`]
    : [
        // 2.8 tolerates a release whose parent POM is missing from Central (Apicurio 3.0.9); 3.x does not.
        'org.apache.maven.plugins:maven-dependency-plugin:2.8:copy',
        `-Dartifact=${req.artifact}`,
        `-DoutputDirectory=${req.outputDir}`,
      ];
  const args = ['-B', '-q', ...(req.extraArgs ?? []), ...goal];
  const { code, output, timedOut } = await run(mvn, args, req.timeoutMs ?? 15 * 60_000);
  if (timedOut) throw new ArtifactUnavailableError(req.label, 'mvn timed out');
  if (code !== 0) throw new ArtifactUnavailableError(req.label, firstMavenError(output));
  fs.writeFileSync(marker, fingerprint);
  return { fetched: true };
}

function requestFingerprint(req: MavenFetch): string {
  const h = crypto.createHash('sha256');
  h.update(req.pom ? fs.readFileSync(req.pom) : String(req.artifact));
  return h.digest('hex');
}

/** Maven's first [ERROR] line, without the boilerplate that follows it. */
export function firstMavenError(output: string): string {
  const line = output
    .split('\n')
    // mvn colours its output even with -B on some terminals; strip ANSI escapes before matching.
    // eslint-disable-next-line no-control-regex
    .map((l) => l.replace(/\x1b\[[0-9;]*m/g, '').trim())
    .find((l) => l.startsWith('[ERROR]') && l.length > 10);
  const text = (line ?? output.trim().split('\n').pop() ?? 'mvn failed').replace(/^\[ERROR\]\s*/, '');
  const reason =
    /offline/i.test(text) ? 'Maven is offline and the artifact is not in the local repository' :
    /Could not (resolve|find|transfer)|was not found/i.test(text) ? 'artifact not found or not downloadable' :
    undefined;
  const short = text.length > 300 ? `${text.slice(0, 300)}…` : text;
  return reason ? `${reason} (${short})` : short;
}

function run(cmd: string, args: string[], timeoutMs: number) {
  return new Promise<{ code: number | null; output: string; timedOut: boolean }>((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, timedOut });
    });
  });
}
