import { spawn } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../runtime/config';

/**
 * The gateway simulator as its own process for a benchmark, on a free port with the given journal
 * directory, so the benchmark measures real HTTP and fsync, not an in-process shortcut.
 * Resolves with its base URL once it prints that it is listening.
 */
export async function startSimulator(journalDir: string, extraArgs: string[] = []): Promise<{ url: string; stop: () => void }> {
  const main = path.join(PROJECT_ROOT, 'infra', 'gateway-simulator', 'main.ts');
  const proc = spawn(process.execPath, ['-r', 'tsx/cjs', main, '--port', '0', '--journal-dir', journalDir, ...extraArgs], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.on('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
  });
  return { url, stop: () => proc.kill('SIGTERM') };
}
