/**
 * Owns the Prometheus text rendering of the fleet-wide counters snapshot (readCounters()), so the
 * API's GET /metrics can append these lines to its process figures. Labels are provider names,
 * outcomes and states only. Units follow Prometheus conventions (seconds).
 */
import { CIRCUIT_STATES } from './events.ts';
import { type CountersSnapshot, RECENT_LATENCY_MINUTES } from './metrics-reader.ts';
import type { UsageCounter } from './usage.ts';

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export function countersToPrometheus(snapshot: CountersSnapshot, prefix = 'switchyard'): string {
  const lines: string[] = [];
  const family = (name: string, type: string, help: string) => {
    lines.push(`# HELP ${prefix}_${name} ${help}`, `# TYPE ${prefix}_${name} ${type}`);
  };
  const sample = (name: string, labels: Record<string, string>, value: number) => {
    const l = Object.entries(labels)
      .map(([k, v]) => `${k}="${esc(v)}"`)
      .join(',');
    lines.push(`${prefix}_${name}{${l}} ${value}`);
  };
  const ps = snapshot.providers;

  family('provider_calls_total', 'counter', 'Provider calls reported by every worker, by outcome (success or error class).');
  for (const p of ps) {
    sample('provider_calls_total', { deployment: p.deployment, provider: p.provider, outcome: 'success' }, p.success_total);
    for (const [cls, n] of Object.entries(p.failures_total))
      sample('provider_calls_total', { deployment: p.deployment, provider: p.provider, outcome: cls }, n ?? 0);
  }
  family('provider_latency_seconds', 'histogram', 'Latency of successful provider calls, fleet-wide.');
  for (const p of ps) {
    for (const b of p.latency_ms.buckets) {
      sample(
        'provider_latency_seconds_bucket',
        { deployment: p.deployment, provider: p.provider, le: b.le === '+Inf' ? '+Inf' : String(b.le / 1000) },
        b.count,
      );
    }
    sample('provider_latency_seconds_sum', { deployment: p.deployment, provider: p.provider }, p.latency_ms.sum / 1000);
    sample('provider_latency_seconds_count', { deployment: p.deployment, provider: p.provider }, p.latency_ms.count);
  }
  family(
    'provider_latency_recent_seconds',
    'gauge',
    `Latency percentiles of successful provider calls over the last ${RECENT_LATENCY_MINUTES} minutes, fleet-wide, within 10% or 1 ms of exact.`,
  );
  for (const p of ps) {
    const { p50, p95, p99 } = p.latency_ms.recent;
    for (const [quantile, ms] of [
      ['0.5', p50],
      ['0.95', p95],
      ['0.99', p99],
    ] as const) {
      if (ms !== null) sample('provider_latency_recent_seconds', { deployment: p.deployment, provider: p.provider, quantile }, ms / 1000);
    }
  }
  family('circuit_state', 'gauge', 'Fleet-wide circuit state: 1 for the current state.');
  for (const p of ps)
    for (const s of CIRCUIT_STATES)
      sample('circuit_state', { deployment: p.deployment, provider: p.provider, state: s }, p.circuit.state === s ? 1 : 0);
  family('circuit_consecutive_failures', 'gauge', 'Counted failures in a row.');
  for (const p of ps)
    sample('circuit_consecutive_failures', { deployment: p.deployment, provider: p.provider }, p.circuit.consecutive_failures);
  family('circuit_opens_total', 'counter', 'Times the circuit opened (threshold, failure rate or failed probe).');
  for (const p of ps) sample('circuit_opens_total', { deployment: p.deployment, provider: p.provider }, p.circuit.trips);
  family('circuit_probes_total', 'counter', 'Half-open probe leases granted.');
  for (const p of ps) sample('circuit_probes_total', { deployment: p.deployment, provider: p.provider }, p.circuit.probes_granted);
  family('provider_cooldown_seconds', 'gauge', 'Seconds left of a 429 cooldown (0 when none).');
  for (const p of ps) {
    sample(
      'provider_cooldown_seconds',
      { deployment: p.deployment, provider: p.provider },
      p.cooldown_until ? Math.max(0, (p.cooldown_until - snapshot.at) / 1000) : 0,
    );
  }
  family('provider_up', 'gauge', 'Provider state is active (1) or not (0).');
  for (const p of ps)
    sample('provider_up', { deployment: p.deployment, provider: p.provider, state: p.state }, p.state === 'active' ? 1 : 0);
  return `${lines.join('\n')}\n`;
}

/**
 * Jobs, tokens and spend per deployment and route (usage.ts's lifetime totals), fleet-wide. `route` is
 * "-" for jobs that named a deployment directly. Labels are ids and route names only: a client
 * name never becomes a label (its spend is in GET /v1/usage), so series stay bounded by the config.
 */
export function usageToPrometheus(counters: readonly UsageCounter[], prefix = 'switchyard'): string {
  const lines: string[] = [];
  const label = (c: UsageCounter) => `deployment="${esc(c.deployment)}",route="${esc(c.route)}"`;
  lines.push(`# HELP ${prefix}_jobs_total Jobs completed, fleet-wide, by route and the deployment that answered.`);
  lines.push(`# TYPE ${prefix}_jobs_total counter`);
  for (const c of counters) lines.push(`${prefix}_jobs_total{${label(c)}} ${c.requests}`);
  lines.push(`# HELP ${prefix}_tokens_total Tokens used by finished jobs, fleet-wide, by deployment, route and kind (prompt, completion).`);
  lines.push(`# TYPE ${prefix}_tokens_total counter`);
  for (const c of counters) {
    lines.push(`${prefix}_tokens_total{${label(c)},kind="prompt"} ${c.prompt_tokens}`);
    lines.push(`${prefix}_tokens_total{${label(c)},kind="completion"} ${c.completion_tokens}`);
  }
  lines.push(
    `# HELP ${prefix}_cost_usd_total Dollars spent by finished jobs, fleet-wide (the vendor's figure, else tokens x the configured price).`,
  );
  lines.push(`# TYPE ${prefix}_cost_usd_total counter`);
  for (const c of counters) lines.push(`${prefix}_cost_usd_total{${label(c)}} ${c.cost_usd}`);
  return `${lines.join('\n')}\n`;
}
