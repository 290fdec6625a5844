import type { ProcessSupervisor } from './process-supervisor';

/**
 * kill -9 of a random processor every few seconds, for as long as it runs. Victims are drawn in
 * rounds, each a shuffle of every process, so each one is killed once before any is killed twice:
 * a run of n kills has hit every process however many there are. The choice and the pause come
 * from a seeded generator, so a run that found a problem can be repeated with its seed (the timing
 * around each kill still varies with the machine).
 */
export interface MonkeyOptions {
  seed: number;
  minPauseMs: number;
  maxPauseMs: number;
}

export class ChaosMonkey {
  private state: number;
  private timer?: NodeJS.Timeout;
  /** What is left of the current round. */
  private round: string[] = [];
  private running = false;

  constructor(
    private readonly supervisor: ProcessSupervisor,
    private readonly opts: MonkeyOptions,
    private readonly note: (what: string) => void,
  ) {
    this.state = opts.seed >>> 0 || 1;
  }

  start(): void {
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(): void {
    if (!this.running) return;
    const pause = this.opts.minPauseMs + this.next(Math.max(1, this.opts.maxPauseMs - this.opts.minPauseMs));
    this.timer = setTimeout(() => {
      if (this.round.length === 0) this.round = [...this.supervisor.names];
      const victim = this.round.splice(this.next(this.round.length), 1)[0]!;
      if (this.supervisor.kill9(victim)) this.note(`kill -9 ${victim}`);
      this.schedule();
    }, pause);
  }

  /** LCG: reproducible. Its high bits, since the low two bits of a power-of-two LCG repeat every
   * four draws, which would pick the same two victims forever. */
  private next(n: number): number {
    this.state = (Math.imul(this.state, 1664525) + 1013904223) >>> 0;
    return (this.state >>> 16) % n;
  }
}
