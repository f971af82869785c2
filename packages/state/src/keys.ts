/**
 * Owns the Redis key layout of the state store. Health is kept per deployment (DESIGN.md section 7):
 * what this package calls `provider` is a deployment id, and an implicit deployment is named after
 * its provider, so `{p:openai}` is what it always was. Every key a Lua script touches for a
 * deployment carries its hash tag (`{p:<id>}`), so a script call never spans two Redis Cluster
 * slots; the worker registry lives under its own tag. Nothing else builds key strings.
 */
import type { DeploymentId } from '@switchyard/shared';

/** Hash tag shared by every key of one provider: all of them land in one Cluster slot. */
export function providerTag(provider: DeploymentId): string {
  return `{p:${provider}}`;
}

/** `YYYY-MM-DD` in UTC: the day bucket of daily metrics. */
export function utcDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** `YYYY-MM` in UTC: the month bucket of client spend. */
export function utcMonth(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

/** Minutes since the epoch: the bucket of per-minute metrics. */
export function epochMinute(ms: number): number {
  return Math.floor(ms / 60_000);
}

export interface ProviderKeys {
  /** Hash: circuit breaker (state, consecutive_failures, opened_at, next_probe_at, lease...). */
  circuit: string;
  /** Hash: failure-rate sliding window buckets (`<bucket>:c`, `<bucket>:f`). */
  window: string;
  /** String: epoch ms until which a 429 cooldown holds; expires with it (PX). */
  cooldown: string;
  /** Hash: provider state record (state, last_error_*, checked_at, probed_at, credits). */
  state: string;
  /** String: the fleet-wide single-flight lock of a status refresh (SET NX PX). */
  refreshLock: string;
  /** Hash: lifetime counters, the source of Prometheus counters (no expiry, bounded size). */
  metricsTotal: string;
  /** Hash: one UTC day of counters (30-day retention). */
  metricsDay(date: string): string;
  /** Hash: one minute of counters (a few hours' retention). */
  metricsMinute(minute: number): string;
}

export class StateKeys {
  /** Built once per provider: every admission and report asks for them. */
  private readonly byProvider = new Map<DeploymentId, ProviderKeys>();

  constructor(readonly namespace: string) {}

  provider(provider: DeploymentId): ProviderKeys {
    let keys = this.byProvider.get(provider);
    if (!keys) {
      keys = this.build(provider);
      this.byProvider.set(provider, keys);
    }
    return keys;
  }

  private build(provider: DeploymentId): ProviderKeys {
    const base = `${this.namespace}:${providerTag(provider)}`;
    return {
      circuit: `${base}:circuit`,
      window: `${base}:window`,
      cooldown: `${base}:cooldown`,
      state: `${base}:state`,
      refreshLock: `${base}:refresh-lock`,
      metricsTotal: `${base}:m:all`,
      metricsDay: (date) => `${base}:m:day:${date}`,
      metricsMinute: (minute) => `${base}:m:min:${minute}`,
    };
  }

  /** String per live worker (JSON, PX ttl). */
  worker(id: string): string {
    return `${this.namespace}:{workers}:w:${id}`;
  }

  /** Sorted set of worker ids scored by heartbeat expiry; scrubbed on read. */
  workersLive(): string {
    return `${this.namespace}:{workers}:live`;
  }

  /** Hash: deployment id -> provider kind of every deployment any process was configured with (metrics of one removed from the config still show). */
  knownDeployments(): string {
    return `${this.namespace}:{deployments}:known`;
  }

  /** Hash: worker id -> JSON of its calls in flight and recent latency per deployment (routing-load.ts). */
  routingLoad(): string {
    return `${this.namespace}:{routing}:load`;
  }

  /**
   * Usage and spend (usage.ts) share one hash tag: a job's usage is one pipeline to one Cluster
   * slot, and the budget script reads a client's day and month spend together.
   */
  usageDay(date: string): string {
    return `${this.namespace}:{usage}:day:${date}`;
  }

  /** Hash: one minute of usage (the dashboard's last hour). */
  usageMinute(minute: number): string {
    return `${this.namespace}:{usage}:min:${minute}`;
  }

  /** Hash: lifetime tokens and cost per deployment and route (Prometheus counters; no expiry, bounded by the config). */
  usageTotal(): string {
    return `${this.namespace}:{usage}:all`;
  }

  /** String: a client's spend (micro-dollars) on one UTC day, `YYYY-MM-DD`. */
  spendDay(client: string, date: string): string {
    return `${this.namespace}:{usage}:spend:${client}:d:${date}`;
  }

  /** String: a client's spend (micro-dollars) in one UTC month, `YYYY-MM`. */
  spendMonth(client: string, month: string): string {
    return `${this.namespace}:{usage}:spend:${client}:m:${month}`;
  }

  /** Pub/sub channel of state-change events (circuit, provider state, cooldown). Not a key. */
  eventsChannel(): string {
    return stateEventsChannel(this.namespace);
  }
}

/** The pub/sub channel on which every state change is published, for the dashboard's SSE. */
export function stateEventsChannel(namespace: string): string {
  return `${namespace}:{events}:state`;
}
