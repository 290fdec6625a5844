import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { PROJECT_ROOT } from '../../runtime/config';
import { sleep } from '../../infra/process-control';
import { processorNodeOptions } from '../../services/run/processor-heap';

/**
 * Keeps a set of `sts run …` processes alive the way a service manager would: a process that
 * exits, for whatever reason (kill -9, a crash on a lost database connection), is started again
 * after a short pause. The chaos run kills them through `kill9`, and counts what happened, so its
 * report can say how many times each processor died mid-work.
 *
 * Each process writes its output to `<dir>/<name>.log` (appended across restarts), and runs with
 * the processor heap cap, as docs/OPERATIONS.md says to run processors.
 */
export interface SupervisedSpec {
  name: string;
  /** Arguments after `bin/sts.js`, e.g. ['run', 'commission', '--no-relay']. */
  args: string[];
}

export interface SupervisedStats {
  name: string;
  starts: number;
  kills: number;
  /** Exits not caused by kill9 (crashes, or a clean exit the run did not ask for). */
  crashes: number;
  /** Times it was frozen with SIGSTOP and thawed with SIGCONT. */
  freezes: number;
}

interface Slot {
  spec: SupervisedSpec;
  child?: ChildProcess;
  stats: SupervisedStats;
  killedByUs: boolean;
  /** Stopped by freeze() right now: kill9 leaves it alone, so the thaw meets a live process. */
  frozen: boolean;
}

export class ProcessSupervisor {
  private readonly slots = new Map<string, Slot>();
  private stopping = false;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly logDir: string,
    private readonly restartDelayMs = 500,
  ) {
    fs.mkdirSync(logDir, { recursive: true });
  }

  start(specs: SupervisedSpec[]): void {
    for (const spec of specs) {
      const slot: Slot = { spec, stats: { name: spec.name, starts: 0, kills: 0, crashes: 0, freezes: 0 }, killedByUs: false, frozen: false };
      this.slots.set(spec.name, slot);
      this.launch(slot);
    }
  }

  get names(): string[] {
    return [...this.slots.keys()];
  }

  /** SIGKILL the named process; the supervisor starts it again. False if it was not running. */
  kill9(name: string): boolean {
    const slot = this.slots.get(name);
    if (!slot?.child || slot.frozen || slot.child.exitCode !== null || slot.child.signalCode !== null) return false;
    slot.killedByUs = true;
    slot.stats.kills++;
    slot.child.kill('SIGKILL');
    return true;
  }

  /**
   * Freezes the named process (SIGSTOP) for `ms`, then thaws it (SIGCONT): a long GC pause or a
   * frozen VM, which the rest of its group sees as a member gone silent. False if not running.
   */
  async freeze(name: string, ms: number): Promise<boolean> {
    const slot = this.slots.get(name);
    const child = slot?.child;
    if (!slot || !child || child.exitCode !== null || child.signalCode !== null) return false;
    slot.stats.freezes++;
    slot.frozen = true;
    child.kill('SIGSTOP');
    try {
      await sleep(ms);
    } finally {
      child.kill('SIGCONT');
      slot.frozen = false;
    }
    return true;
  }

  stats(): SupervisedStats[] {
    return [...this.slots.values()].map((s) => ({ ...s.stats }));
  }

  /** SIGTERM every process (each finishes its batch in flight and leaves its group), then waits. */
  async stop(graceMs = 30_000): Promise<void> {
    this.stopping = true;
    const running = [...this.slots.values()].map((s) => s.child).filter((c): c is ChildProcess => !!c && c.exitCode === null && c.signalCode === null);
    // SIGCONT first: a frozen process would hold its SIGTERM until the grace ran out.
    for (const c of running) {
      c.kill('SIGCONT');
      c.kill('SIGTERM');
    }
    const deadline = Date.now() + graceMs;
    while (running.some((c) => c.exitCode === null && c.signalCode === null) && Date.now() < deadline) await sleep(100);
    for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }

  private launch(slot: Slot): void {
    const log = fs.openSync(path.join(this.logDir, `${slot.spec.name}.log`), 'a');
    const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'sts.js'), ...slot.spec.args], { cwd: PROJECT_ROOT, env: { ...this.env, NODE_OPTIONS: processorNodeOptions(this.env.NODE_OPTIONS) }, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    slot.child = child;
    slot.killedByUs = false;
    slot.stats.starts++;
    child.on('exit', () => {
      if (this.stopping) return;
      if (!slot.killedByUs) slot.stats.crashes++;
      setTimeout(() => {
        if (!this.stopping) this.launch(slot);
      }, this.restartDelayMs);
    });
  }
}
