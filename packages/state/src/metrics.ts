/**
 * Owns metric recording (DESIGN.md section 6): every reported call increments three hashes of its
 * provider with pipelined HINCRBY — the UTC day (expires 31 days after the day began, so 30 full
 * days are always readable), the minute (expires after a few hours: dashboard charts) and the
 * lifetime counters (no expiry, fixed size: the monotonic source Prometheus needs). Fields:
 *   total, success, fail:<class>, lat_sum, lat_count, lat_le:<bound ms>|lat_le:inf
 * Latency is that of successful calls: a 20 s timeout or a 5 ms 401 says nothing about how fast
 * the provider answers. Labels are provider names and error classes only, never anything secret.
 *
 * Calls are added up in the process and written per flush (RedisFleetState flushes every few
 * hundred ms), so a worker doing thousands of calls a second sends a handful of HINCRBYs per
 * provider and flush instead of 17 commands per call; each call still lands in the day and minute
 * it happened in.
 */
import { type DeploymentId, ERROR_CLASSES, type ErrorClass } from '@switchyard/shared';
import type { ChainableCommander } from 'ioredis';
import { epochMinute, type StateKeys, utcDate } from './keys.ts';

/** Upper bounds (ms) of the latency histogram buckets; a last, unbounded bucket follows. */
export const LATENCY_BUCKETS_MS = [50, 100, 250, 500, 1000, 2500, 5000, 10_000, 20_000, 30_000, 60_000] as const;

export const DAILY_RETENTION_DAYS = 30;
const DAY_MS = 86_400_000;

export function bucketField(latencyMs: number): string {
  for (const bound of LATENCY_BUCKETS_MS) if (latencyMs <= bound) return `lat_le:${bound}`;
  return 'lat_le:inf';
}

export interface RecordedCall {
  provider: DeploymentId;
  outcome: 'success' | ErrorClass;
  latencyMs: number;
}

/** One hash's increments not yet written, and when the hash expires (epoch ms; null: never). */
interface PendingHash {
  fields: Map<string, number>;
  expireAtMs: number | null;
}

export class MetricsRecorder {
  /** provider -> hash key -> pending increments. */
  private readonly pending = new Map<DeploymentId, Map<string, PendingHash>>();
  private buckets: { date: string; minute: number; dayExpiry: number } | undefined;

  constructor(
    private readonly keys: StateKeys,
    private readonly minuteRetentionMs: number,
  ) {}

  /** True while some call was added and not yet queued on a pipeline. */
  get hasPending(): boolean {
    return this.pending.size > 0;
  }

  /** Adds one call to the process's running totals. */
  add(call: RecordedCall, now: number): void {
    const k = this.keys.provider(call.provider);
    const { date, minute, dayExpiry } = this.bucketsOf(now);
    const latency = Math.max(0, Math.round(Number.isFinite(call.latencyMs) ? call.latencyMs : 0));
    const outcomeField = call.outcome === 'success' ? 'success' : `fail:${call.outcome}`;
    let hashes = this.pending.get(call.provider);
    if (!hashes) {
      hashes = new Map();
      this.pending.set(call.provider, hashes);
    }
    const targets: Array<[string, number | null]> = [
      [k.metricsDay(date), dayExpiry],
      [k.metricsMinute(minute), (minute + 1) * 60_000 + this.minuteRetentionMs],
      [k.metricsTotal, null],
    ];
    for (const [key, expireAtMs] of targets) {
      let hash = hashes.get(key);
      if (!hash) {
        hash = { fields: new Map(), expireAtMs };
        hashes.set(key, hash);
      }
      const f = hash.fields;
      f.set('total', (f.get('total') ?? 0) + 1);
      f.set(outcomeField, (f.get(outcomeField) ?? 0) + 1);
      if (call.outcome === 'success') {
        f.set('lat_sum', (f.get('lat_sum') ?? 0) + latency);
        f.set('lat_count', (f.get('lat_count') ?? 0) + 1);
        const bucket = bucketField(latency);
        f.set(bucket, (f.get(bucket) ?? 0) + 1);
      }
    }
  }

  /** The day and minute buckets of `now`, worked out once per minute (formatting a date per call shows in profiles). */
  private bucketsOf(now: number): { date: string; minute: number; dayExpiry: number } {
    const minute = epochMinute(now);
    if (this.buckets?.minute !== minute) {
      const date = utcDate(now);
      this.buckets = { date, minute, dayExpiry: Date.parse(`${date}T00:00:00Z`) + (DAILY_RETENTION_DAYS + 1) * DAY_MS };
    }
    return this.buckets;
  }

  /** Providers with calls not yet written. */
  providersPending(): DeploymentId[] {
    return [...this.pending.keys()];
  }

  /**
   * Moves one provider's pending increments onto `pipeline` (one slot: the provider's) and forgets
   * them: a pipeline that then fails loses them, it never writes them twice.
   */
  queuePending(pipeline: ChainableCommander, provider: DeploymentId): number {
    const hashes = this.pending.get(provider);
    if (!hashes) return 0;
    this.pending.delete(provider);
    let commands = 0;
    for (const [key, hash] of hashes) {
      for (const [field, n] of hash.fields) {
        pipeline.hincrby(key, field, n);
        commands += 1;
      }
      if (hash.expireAtMs !== null) {
        pipeline.pexpireat(key, hash.expireAtMs);
        commands += 1;
      }
    }
    return commands;
  }

  /** Adds one call and queues it at once (no buffering): for callers that write per call. */
  queue(pipeline: ChainableCommander, call: RecordedCall, now: number): void {
    this.add(call, now);
    this.queuePending(pipeline, call.provider);
  }
}

/** Counters of one hash, decoded; unknown or malformed fields are ignored, never thrown. */
export interface CallCounts {
  total: number;
  success: number;
  failures: Partial<Record<ErrorClass, number>>;
  latency: { sum: number; count: number; buckets: number[] };
}

export function emptyCounts(): CallCounts {
  return { total: 0, success: 0, failures: {}, latency: { sum: 0, count: 0, buckets: new Array(LATENCY_BUCKETS_MS.length + 1).fill(0) } };
}

const CLASS_SET = new Set<string>(ERROR_CLASSES);

export function decodeCounts(raw: Record<string, string>, into: CallCounts = emptyCounts()): CallCounts {
  for (const [field, value] of Object.entries(raw)) {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 0) continue;
    if (field === 'total') into.total += n;
    else if (field === 'success') into.success += n;
    else if (field === 'lat_sum') into.latency.sum += n;
    else if (field === 'lat_count') into.latency.count += n;
    else if (field.startsWith('fail:')) {
      const cls = field.slice(5);
      if (CLASS_SET.has(cls)) into.failures[cls as ErrorClass] = (into.failures[cls as ErrorClass] ?? 0) + n;
    } else if (field.startsWith('lat_le:')) {
      const bound = field.slice(7);
      const index = bound === 'inf' ? LATENCY_BUCKETS_MS.length : LATENCY_BUCKETS_MS.indexOf(Number(bound) as never);
      if (index >= 0) into.latency.buckets[index] = (into.latency.buckets[index] ?? 0) + n;
    }
  }
  return into;
}

/**
 * Quantile from bucket counts, as Prometheus's histogram_quantile does it: linear within the
 * bucket that holds the rank; a rank in the unbounded bucket answers the highest finite bound.
 */
export function quantileFromBuckets(buckets: readonly number[], q: number): number | null {
  const count = buckets.reduce((a, b) => a + b, 0);
  if (count === 0) return null;
  const rank = q * count;
  let cumulative = 0;
  for (let i = 0; i < buckets.length; i++) {
    const inBucket = buckets[i] ?? 0;
    if (inBucket > 0 && cumulative + inBucket >= rank) {
      if (i >= LATENCY_BUCKETS_MS.length) return LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1] as number;
      const lower = i === 0 ? 0 : (LATENCY_BUCKETS_MS[i - 1] as number);
      const upper = LATENCY_BUCKETS_MS[i] as number;
      return Math.round(lower + ((upper - lower) * (rank - cumulative)) / inBucket);
    }
    cumulative += inBucket;
  }
  return LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1] as number;
}

export interface LatencySummary {
  count: number;
  avg: number | null;
  p50: number | null;
  p95: number | null;
}

export function summarizeLatency(counts: CallCounts): LatencySummary {
  const { sum, count, buckets } = counts.latency;
  return {
    count,
    avg: count > 0 ? Math.round(sum / count) : null,
    p50: quantileFromBuckets(buckets, 0.5),
    p95: quantileFromBuckets(buckets, 0.95),
  };
}
