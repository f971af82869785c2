/**
 * Owns what the dashboard shows, read from the shared state store and the BullMQ queue: the
 * snapshot (providers with state and circuit, queue counts, live workers) and the chart series
 * (per-minute throughput, error classes and latency p50/p95 over the last hour), shaped for
 * uPlot (column arrays). Each part is read independently: one failing part is reported in
 * `errors` and the others still arrive.
 */
import { type JobResult, type QueuedJobData, redactSecrets } from '@switchyard/shared';
import type { LiveWorker, MinuteSeries, ProviderStatus, StateStore } from '@switchyard/state';
import type { Queue } from 'bullmq';

export const QUEUE_COUNT_NAMES = ['waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized'] as const;
export type QueueCounts = Record<(typeof QUEUE_COUNT_NAMES)[number], number>;

export interface DashboardSnapshot {
  /** Server time (epoch ms): the page counts down to next_probe_at against this clock. */
  at: number;
  providers: ProviderStatus[];
  /** `waiting` includes prioritized jobs (BullMQ keeps those in a list of their own). */
  queue: QueueCounts | null;
  workers: LiveWorker[];
  /** The fleet config this API replica runs: a worker whose config_hash differs is marked. */
  config_hash: string;
  /** Parts that could not be read this time, with a short reason. */
  errors: string[];
}

export interface ProviderSeries {
  provider: string;
  /** Successful calls per minute. */
  success: number[];
  /** Failed calls per minute (every class). */
  failed: number[];
  p50: Array<number | null>;
  p95: Array<number | null>;
}

export interface DashboardSeries {
  at: number;
  step_ms: number;
  /** Minute starts, epoch seconds (uPlot's x axis). */
  t: number[];
  providers: ProviderSeries[];
  /** Failures per minute by error class, all providers summed; only classes seen in range. */
  error_classes: Record<string, number[]>;
}

type JobQueue = Pick<Queue<QueuedJobData, JobResult>, 'getJobCounts'>;

export class SnapshotSource {
  constructor(
    private readonly state: StateStore,
    private readonly queue: JobQueue,
    private readonly options: { seriesMinutes: number; configHash: () => string },
  ) {}

  async snapshot(options: { forceRefresh?: boolean } = {}): Promise<DashboardSnapshot> {
    const errors: string[] = [];
    const note = (part: string) => (err: unknown) => {
      errors.push(`${part}: ${shortMessage(err)}`);
      return null;
    };
    const [providers, queue, workers] = await Promise.all([
      // Past the status memo: the dashboard asks right after an event told it something changed.
      this.state.getStatus(options.forceRefresh ? { forceRefresh: true } : { memo: false }).catch(note('providers')),
      this.queueCounts().catch(note('queue')),
      this.state.listWorkers().catch(note('workers')),
    ]);
    return { at: Date.now(), providers: providers ?? [], queue, workers: workers ?? [], config_hash: this.options.configHash(), errors };
  }

  async queueCounts(): Promise<QueueCounts> {
    const raw = await this.queue.getJobCounts(...QUEUE_COUNT_NAMES);
    const counts = Object.fromEntries(QUEUE_COUNT_NAMES.map((name) => [name, raw[name] ?? 0])) as QueueCounts;
    counts.waiting += counts.prioritized;
    return counts;
  }

  async series(): Promise<DashboardSeries> {
    return toChartSeries(await this.state.readMinuteSeries(this.options.seriesMinutes));
  }
}

/** Turns the state store's per-provider points into column arrays for uPlot. */
export function toChartSeries(minutes: MinuteSeries): DashboardSeries {
  const length = Math.round((minutes.to - minutes.from) / minutes.step_ms) + 1;
  const t = Array.from({ length }, (_, i) => (minutes.from + i * minutes.step_ms) / 1000);
  const classes: Record<string, number[]> = {};
  // One series per deployment, labelled by its id (two deployments of one vendor are two lines).
  const providers = minutes.series.map(({ deployment, points }) => {
    const s: ProviderSeries = { provider: deployment, success: [], failed: [], p50: [], p95: [] };
    points.forEach((point, i) => {
      s.success.push(point.success);
      s.failed.push(point.failed);
      s.p50.push(point.latency_ms.p50);
      s.p95.push(point.latency_ms.p95);
      for (const [cls, count] of Object.entries(point.failures)) {
        if (!count) continue;
        const column = classes[cls] ?? new Array<number>(length).fill(0);
        column[i] = (column[i] ?? 0) + count;
        classes[cls] = column;
      }
    });
    return s;
  });
  return { at: Date.now(), step_ms: minutes.step_ms, t, providers, error_classes: classes };
}

function shortMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return redactSecrets(message.split('\n')[0] ?? 'unknown error').slice(0, 200);
}
