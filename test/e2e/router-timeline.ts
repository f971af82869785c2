/**
 * Two timelines the system under test records itself: the mock server's exact per-model call
 * counters, sampled every millisecond (when each call arrived, completed or was abandoned by its
 * client), and the worker processes' pino JSON log events.
 */
import type { CallCounters, MockServer } from '@switchyard/providers/mock-server';
import type { ServiceProcess } from '../support/processes.ts';

/** One change of a per-model counter on the mock server, as the sampler saw it. */
export interface MockEvent {
  at: number;
  /** `provider/model` */
  model: string;
  kind: 'received' | 'completed' | 'abandoned' | 'dropped';
  n: number;
}

const KINDS = ['received', 'completed', 'abandoned', 'dropped'] as const;

/** Samples the mock server's exact counters every millisecond: when each call arrived and ended. */
export class MockTimeline {
  readonly events: MockEvent[] = [];
  /** Highest in-flight count seen per model. */
  readonly peakInFlight = new Map<string, number>();
  private readonly last = new Map<string, CallCounters>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly mock: MockServer) {
    this.timer = setInterval(() => this.sample(), 1);
  }

  sample(): void {
    const at = Date.now();
    for (const [model, now] of Object.entries(this.mock.stats().byModel)) {
      const before = this.last.get(model);
      for (const kind of KINDS) {
        const n = now[kind] - (before?.[kind] ?? 0);
        if (n > 0) this.events.push({ at, model, kind, n });
      }
      this.peakInFlight.set(model, Math.max(this.peakInFlight.get(model) ?? 0, now.inFlight));
      this.last.set(model, now);
    }
  }

  of(model: string, kind?: MockEvent['kind']): MockEvent[] {
    this.sample();
    return this.events.filter((e) => e.model === model && (kind === undefined || e.kind === kind));
  }

  count(model: string, kind: MockEvent['kind']): number {
    return this.of(model, kind).reduce((sum, e) => sum + e.n, 0);
  }

  counters(model: string): CallCounters | undefined {
    return this.mock.stats().byModel[model];
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** A parsed worker log line: pino JSON, `time` as epoch ms. */
export interface LogEvent {
  msg: string;
  level: number;
  time: number;
  jobId?: string;
  provider?: string;
  worker: number;
  [field: string]: unknown;
}

export function logEvents(workers: readonly ServiceProcess[], msg?: string): LogEvent[] {
  const events: LogEvent[] = [];
  workers.forEach((w, worker) => {
    for (const line of w.lines) {
      if (msg !== undefined && !line.includes(`"msg":"${msg}"`)) continue;
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        events.push({ ...parsed, time: Date.parse(String(parsed.time)), worker } as LogEvent);
      } catch {
        // not a log line (a stack trace of a crash is reported by the tests that care)
      }
    }
  });
  return events;
}
