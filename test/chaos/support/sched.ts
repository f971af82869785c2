/**
 * Owns the figure that separates a slow system from a starved one: how long a process's main
 * thread sat runnable in the kernel's run queue without a CPU (Linux /proc/<pid>/schedstat, second
 * field), sampled every 50 ms. On a machine shared with other work a timer due at the budget fires
 * only once the thread gets a CPU again; that wait is the machine's doing, not the system's. On an
 * idle CI runner it is close to zero, so checks that subtract it stay strict there.
 */
import { readFileSync } from 'node:fs';

interface Sample {
  t: number;
  waitMs: number;
}

function runQueueWaitMs(pid: number): number | null {
  try {
    const [, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(/\s+/);
    const ns = Number(wait);
    return Number.isFinite(ns) ? ns / 1e6 : null;
  } catch {
    return null;
  }
}

export class RunQueueSampler {
  private readonly samples = new Map<number, Sample[]>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pids: () => number[],
    private readonly everyMs = 50,
  ) {}

  /** False where /proc/<pid>/schedstat does not exist (not Linux, or no CONFIG_SCHED_INFO). */
  static available(): boolean {
    return runQueueWaitMs(process.pid) !== null;
  }

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }

  private sample(): void {
    const t = Date.now();
    for (const pid of this.pids()) {
      const waitMs = runQueueWaitMs(pid);
      if (waitMs === null) continue;
      let list = this.samples.get(pid);
      if (!list) {
        list = [];
        this.samples.set(pid, list);
      }
      list.push({ t, waitMs });
    }
  }

  /** Milliseconds `pid` waited for a CPU between `from` and `to` (epoch ms), interpolated between samples. */
  waitMs(pid: number, from: number, to: number): number {
    const list = this.samples.get(pid);
    if (!list || list.length === 0 || to <= from) return 0;
    return Math.max(0, this.at(list, to) - this.at(list, from));
  }

  /** Total run-queue wait of `pid` over the sampling, and the wall time it covers. */
  total(pid: number): { waitMs: number; wallMs: number } {
    const list = this.samples.get(pid) ?? [];
    if (list.length < 2) return { waitMs: 0, wallMs: 0 };
    return { waitMs: list.at(-1)!.waitMs - list[0]!.waitMs, wallMs: list.at(-1)!.t - list[0]!.t };
  }

  private at(list: Sample[], t: number): number {
    if (t <= list[0]!.t) return list[0]!.waitMs;
    if (t >= list.at(-1)!.t) return list.at(-1)!.waitMs;
    let lo = 0;
    let hi = list.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (list[mid]!.t <= t) lo = mid;
      else hi = mid;
    }
    const a = list[lo]!;
    const b = list[hi]!;
    return b.t === a.t ? a.waitMs : a.waitMs + ((b.waitMs - a.waitMs) * (t - a.t)) / (b.t - a.t);
  }
}
