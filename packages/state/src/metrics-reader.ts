/**
 * Owns reading metrics back: `readDailyMetrics(days)` for GET /v1/metrics?days=N,
 * `readMinuteSeries(minutes)` for the dashboard's charts and `readCounters()`, the fleet-wide
 * snapshot behind GET /metrics. Each provider's keys are read in one pipeline (one Cluster slot);
 * providers are read in parallel.
 */
import { type DeploymentId, type ErrorClass, isDeploymentId, type ProviderState, type RedisClient } from '@switchyard/shared';
import type { CircuitBreaker, CircuitSnapshot } from './circuit-breaker.ts';
import type { RateLimitCooldown } from './cooldown.ts';
import { epochMinute, type StateKeys, utcDate } from './keys.ts';
import { latencyQuantile, prometheusBuckets } from './latency-histogram.ts';
import { type CallCounts, DAILY_RETENTION_DAYS, decodeCounts, emptyCounts, type LatencySummary, summarizeLatency } from './metrics.ts';
import type { ProviderStateRecords } from './provider-state.ts';

export const MAX_SERIES_MINUTES = 360;
/** Minutes (the current one included) behind the recent percentiles of GET /metrics. */
export const RECENT_LATENCY_MINUTES = 5;

export interface ProviderMetrics {
  /** The deployment id (the health key). */
  deployment: DeploymentId;
  /** Its provider kind (`openai`, `azure-openai`, ...); for an implicit deployment, also its id. */
  provider: string;
  total: number;
  success: number;
  /** All failures, whatever their class (aborted included: those are calls we cancelled). */
  failed: number;
  failures: Partial<Record<ErrorClass, number>>;
  /** Latency of successful calls. */
  latency_ms: LatencySummary;
}

export interface DailyMetrics {
  days: number;
  /** UTC dates, oldest first. */
  from: string;
  to: string;
  daily: Array<{ date: string; providers: ProviderMetrics[] }>;
  /** Sums over the whole range, per provider. */
  totals: ProviderMetrics[];
}

export interface MinuteSeries {
  step_ms: 60_000;
  /** Epoch ms of the first and last minute (the last one is still filling). */
  from: number;
  to: number;
  series: Array<{
    deployment: DeploymentId;
    provider: string;
    points: Array<{ t: number } & Omit<ProviderMetrics, 'provider' | 'deployment'>>;
  }>;
}

export interface ProviderCounters {
  deployment: DeploymentId;
  provider: string;
  enabled: boolean;
  calls_total: number;
  success_total: number;
  failures_total: Partial<Record<ErrorClass, number>>;
  /** Cumulative buckets, Prometheus style (`le` in ms, PROMETHEUS_BOUNDS_MS; the last is '+Inf'). */
  latency_ms: {
    sum: number;
    count: number;
    buckets: Array<{ le: number | '+Inf'; count: number }>;
    /**
     * Percentiles (ms) of the last RECENT_LATENCY_MINUTES minutes from the fine histogram, within
     * 10% or 1 ms of exact, which histogram_quantile() over the coarse buckets cannot promise;
     * null without calls in that window.
     */
    recent: { p50: number | null; p95: number | null; p99: number | null };
  };
  circuit: Pick<CircuitSnapshot, 'state' | 'consecutive_failures' | 'opened_at' | 'next_probe_at' | 'trips' | 'probes_granted'>;
  cooldown_until: number | null;
  state: ProviderState;
}

export interface CountersSnapshot {
  at: number;
  providers: ProviderCounters[];
}

function toProviderMetrics(deployment: DeploymentId, provider: string, counts: CallCounts): ProviderMetrics {
  const failed = Object.values(counts.failures).reduce((a, b) => a + (b ?? 0), 0);
  return {
    deployment,
    provider,
    total: counts.total,
    success: counts.success,
    failed,
    failures: counts.failures,
    latency_ms: summarizeLatency(counts),
  };
}

function clampInt(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.floor(Number.isFinite(value) ? value : min)));
}

export class MetricsReader {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: StateKeys,
    private readonly directory: { ids(): DeploymentId[]; kindOf(id: DeploymentId): string | undefined },
    private readonly clock: () => number,
    private readonly parts: { breaker: CircuitBreaker; cooldown: RateLimitCooldown; records: ProviderStateRecords },
  ) {}

  /** HGETALL of `keyOf(i)` for each i, one pipeline per provider, all providers in parallel. */
  private async readHashes(
    count: number,
    keyOf: (provider: DeploymentId, i: number) => string,
  ): Promise<Map<DeploymentId, Array<Record<string, string>>>> {
    const entries = await Promise.all(
      (await this.known()).map(async (provider) => {
        const pipeline = this.redis.pipeline();
        for (let i = 0; i < count; i++) pipeline.hgetall(keyOf(provider, i));
        const replies = (await pipeline.exec()) ?? [];
        const hashes = replies.map(([err, value]) => {
          if (err) throw err;
          return (value ?? {}) as Record<string, string>;
        });
        return [provider, hashes] as const;
      }),
    );
    return new Map(entries);
  }

  /** Kinds of the deployments read last, configured or recorded (known()). */
  private kinds = new Map<DeploymentId, string>();

  /** Configured deployments first, then any other some process was ever configured with. */
  private async known(): Promise<DeploymentId[]> {
    const recorded = await this.redis.hgetall(this.keys.knownDeployments());
    const kinds = new Map<DeploymentId, string>();
    for (const id of this.directory.ids()) kinds.set(id, this.directory.kindOf(id) ?? recorded[id] ?? id);
    for (const id of Object.keys(recorded).sort()) if (isDeploymentId(id) && !kinds.has(id)) kinds.set(id, recorded[id] ?? id);
    this.kinds = kinds;
    return [...kinds.keys()];
  }

  private kind(id: DeploymentId): string {
    return this.kinds.get(id) ?? this.directory.kindOf(id) ?? id;
  }

  /** Configured deployments, plus any other that has data in range (one removed yesterday still shows). */
  private shown(hashes: Map<DeploymentId, Array<Record<string, string>>>): DeploymentId[] {
    return [...hashes.keys()].filter(
      (p) => this.directory.ids().includes(p) || (hashes.get(p) ?? []).some((h) => Object.keys(h).length > 0),
    );
  }

  async readDailyMetrics(days: number): Promise<DailyMetrics> {
    const n = clampInt(days, 1, DAILY_RETENTION_DAYS);
    const now = this.clock();
    const dates = Array.from({ length: n }, (_, i) => utcDate(now - (n - 1 - i) * 86_400_000));
    const hashes = await this.readHashes(n, (provider, i) => this.keys.provider(provider).metricsDay(dates[i] as string));
    const providers = this.shown(hashes);
    const daily = dates.map((date, i) => ({
      date,
      providers: providers.map((p) => toProviderMetrics(p, this.kind(p), decodeCounts(hashes.get(p)?.[i] ?? {}))),
    }));
    const totals = providers.map((p) => {
      const sum = emptyCounts();
      for (const h of hashes.get(p) ?? []) decodeCounts(h, sum);
      return toProviderMetrics(p, this.kind(p), sum);
    });
    return { days: n, from: dates[0] as string, to: dates[n - 1] as string, daily, totals };
  }

  async readMinuteSeries(minutes: number): Promise<MinuteSeries> {
    const n = clampInt(minutes, 1, MAX_SERIES_MINUTES);
    const last = epochMinute(this.clock());
    const first = last - n + 1;
    const hashes = await this.readHashes(n, (provider, i) => this.keys.provider(provider).metricsMinute(first + i));
    const series = this.shown(hashes).map((provider) => ({
      deployment: provider,
      provider: this.kind(provider),
      points: (hashes.get(provider) ?? []).map((h, i) => {
        const { provider: _, deployment: __, ...point } = toProviderMetrics(provider, this.kind(provider), decodeCounts(h));
        return { t: (first + i) * 60_000, ...point };
      }),
    }));
    return { step_ms: 60_000, from: first * 60_000, to: last * 60_000, series };
  }

  /** Lifetime counters, circuit and cooldown of every provider: the figures of GET /metrics. */
  async readCounters(): Promise<CountersSnapshot> {
    const now = this.clock();
    const { breaker, cooldown, records } = this.parts;
    const providers = await Promise.all(
      (await this.known()).map(async (provider): Promise<ProviderCounters | null> => {
        const k = this.keys.provider(provider);
        const pipeline = this.redis.pipeline().hgetall(k.metricsTotal).hgetall(k.circuit).get(k.cooldown).hgetall(k.state);
        const lastMinute = epochMinute(now);
        for (let m = lastMinute - RECENT_LATENCY_MINUTES + 1; m <= lastMinute; m++) pipeline.hgetall(k.metricsMinute(m));
        const replies = (await pipeline.exec()) ?? [];
        const [totals, circuitRaw, cooldownRaw, stateRaw, ...minutes] = replies.map(([err, value]) => {
          if (err) throw err;
          return value;
        });
        const recent = emptyCounts();
        for (const minute of minutes) decodeCounts((minute ?? {}) as Record<string, string>, recent);
        const counts = decodeCounts((totals ?? {}) as Record<string, string>);
        const enabled = this.directory.ids().includes(provider);
        if (!enabled && counts.total === 0) return null;
        const circuit = breaker.parse(provider, (circuitRaw ?? {}) as Record<string, string>);
        const record = records.parse(provider, (stateRaw ?? {}) as Record<string, string>);
        const buckets = prometheusBuckets(counts.latency.histogram);
        return {
          deployment: provider,
          provider: this.kind(provider),
          enabled,
          calls_total: counts.total,
          success_total: counts.success,
          failures_total: counts.failures,
          latency_ms: {
            sum: counts.latency.sum,
            count: counts.latency.count,
            buckets,
            recent: {
              p50: latencyQuantile(recent.latency.histogram, 0.5),
              p95: latencyQuantile(recent.latency.histogram, 0.95),
              p99: latencyQuantile(recent.latency.histogram, 0.99),
            },
          },
          circuit: {
            state: circuit.state,
            consecutive_failures: circuit.consecutive_failures,
            opened_at: circuit.opened_at,
            next_probe_at: circuit.next_probe_at,
            trips: circuit.trips,
            probes_granted: circuit.probes_granted,
          },
          cooldown_until: cooldown.parse((cooldownRaw ?? null) as string | null, now),
          state: record?.state ?? 'unknown',
        };
      }),
    );
    return { at: now, providers: providers.filter((p): p is ProviderCounters => p !== null) };
  }
}
