/**
 * Owns metric recording (DESIGN.md section 6): every reported call increments three hashes of its
 * provider with pipelined HINCRBY — the UTC day (expires 31 days after the day began, so 30 full
 * days are always readable), the minute (expires after a few hours: dashboard charts) and the
 * lifetime counters (no expiry, bounded size: the monotonic source Prometheus needs). Fields:
 *   total, success, fail:<class>, lat_sum, lat_count, and the latency histogram's fields
 *   (latency-histogram.ts: log-spaced buckets, and lat_min / lat_max through the metrics-extremes
 *   script, in the same pipeline)
 * Latency is that of successful calls: a 20 s timeout or a 5 ms 401 says nothing about how fast
 * the provider answers. Labels are provider names and error classes only, never anything secret.
 *
 * Calls are added up in the process and written per flush (RedisFleetState flushes every few
 * hundred ms), so a worker doing thousands of calls a second sends one HINCRBY per hash and field
 * touched (counters, and the latency buckets hit: a few dozen for a provider spread over a decade)
 * and one metrics-extremes call per hash, per provider and flush, instead of commands per call;
 * each call still lands in the day and minute it happened in.
 */
import { type DeploymentId, ERROR_CLASSES, type ErrorClass } from '@switchyard/shared';
import type { ChainableCommander } from 'ioredis';
import { epochMinute, type StateKeys, utcDate } from './keys.ts';
import {
  bucketFieldOf,
  emptyHistogram,
  type LatencyHistogram,
  latencyQuantile,
  mergeLatencyField,
  roundLatency,
} from './latency-histogram.ts';
import type { ScriptRunner } from './scripts.ts';

export const DAILY_RETENTION_DAYS = 30;
const DAY_MS = 86_400_000;

export interface RecordedCall {
  provider: DeploymentId;
  outcome: 'success' | ErrorClass;
  latencyMs: number;
}

/** One hash's increments not yet written, the latency range they span, and when the hash expires (epoch ms; null: never). */
interface PendingHash {
  fields: Map<string, number>;
  minMs: number;
  maxMs: number;
  expireAtMs: number | null;
}

export class MetricsRecorder {
  /** provider -> hash key -> pending increments. */
  private readonly pending = new Map<DeploymentId, Map<string, PendingHash>>();
  private buckets: { date: string; minute: number; dayExpiry: number } | undefined;

  constructor(
    private readonly keys: StateKeys,
    private readonly scripts: ScriptRunner,
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
    // Unrounded: the histogram resolves a tenth of a millisecond; lat_sum is rounded when written.
    const latency = Math.max(0, Number.isFinite(call.latencyMs) ? call.latencyMs : 0);
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
        hash = { fields: new Map(), minMs: Number.POSITIVE_INFINITY, maxMs: -1, expireAtMs };
        hashes.set(key, hash);
      }
      const f = hash.fields;
      f.set('total', (f.get('total') ?? 0) + 1);
      f.set(outcomeField, (f.get(outcomeField) ?? 0) + 1);
      if (call.outcome === 'success') {
        f.set('lat_sum', (f.get('lat_sum') ?? 0) + latency);
        f.set('lat_count', (f.get('lat_count') ?? 0) + 1);
        const bucket = bucketFieldOf(latency);
        f.set(bucket, (f.get(bucket) ?? 0) + 1);
        hash.minMs = Math.min(hash.minMs, latency);
        hash.maxMs = Math.max(hash.maxMs, latency);
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
        // Only lat_sum can be fractional: rounded once per flush, not once per call.
        pipeline.hincrby(key, field, Math.round(n));
        commands += 1;
      }
      if (hash.maxMs >= 0) {
        this.scripts.queue(pipeline, 'metrics-extremes', [key], [roundLatency(hash.minMs), roundLatency(hash.maxMs)]);
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
  latency: { sum: number; count: number; histogram: LatencyHistogram };
}

export function emptyCounts(): CallCounts {
  return { total: 0, success: 0, failures: {}, latency: { sum: 0, count: 0, histogram: emptyHistogram() } };
}

const CLASS_SET = new Set<string>(ERROR_CLASSES);

/** Adds one hash's fields to `into`: merging hashes (days, minutes) sums counts and widens the latency range. */
export function decodeCounts(raw: Record<string, string>, into: CallCounts = emptyCounts()): CallCounts {
  for (const [field, value] of Object.entries(raw)) {
    if (mergeLatencyField(into.latency.histogram, field, value)) continue;
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 0) continue;
    if (field === 'total') into.total += n;
    else if (field === 'success') into.success += n;
    else if (field === 'lat_sum') into.latency.sum += n;
    else if (field === 'lat_count') into.latency.count += n;
    else if (field.startsWith('fail:')) {
      const cls = field.slice(5);
      if (CLASS_SET.has(cls)) into.failures[cls as ErrorClass] = (into.failures[cls as ErrorClass] ?? 0) + n;
    }
  }
  return into;
}

/** Latency of successful calls (ms). Percentiles are within 10% or 1 ms of the exact nearest-rank ones (latency-histogram.ts). */
export interface LatencySummary {
  count: number;
  avg: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  min: number | null;
  max: number | null;
}

export function summarizeLatency(counts: CallCounts): LatencySummary {
  const { sum, count, histogram } = counts.latency;
  const p50 = latencyQuantile(histogram, 0.5);
  // Extremes without histogram counts (older data only) would describe calls the percentiles leave out.
  const known = p50 !== null;
  return {
    count,
    avg: count > 0 ? Math.round(sum / count) : null,
    p50,
    p95: latencyQuantile(histogram, 0.95),
    p99: latencyQuantile(histogram, 0.99),
    min: known ? histogram.min : null,
    max: known ? histogram.max : null,
  };
}
