/**
 * Owns the fleet-wide circuit breaker of DESIGN.md section 2. The policies are small value
 * classes in cockatiel's manner (ConsecutiveFailures, FailureRateWindow, GrowingReset, ProbeLease)
 * composed explicitly by CircuitBreaker; every transition happens inside one Lua script
 * (admit, circuit-record, circuit-reset) that also publishes its event, so no two processes can
 * disagree about a count, a trip or who holds the half-open probe.
 */

import { randomUUID } from 'node:crypto';
import { type Admission, CLASS_POLICY, type DeploymentId, type ErrorClass, type RedisClient } from '@switchyard/shared';
import type { ChainableCommander } from 'ioredis';
import { z } from 'zod';
import { CIRCUIT_STATES, type CircuitState } from './events.ts';
import type { StateKeys } from './keys.ts';
import type { StateLogger } from './logger.ts';
import type { ScriptRunner } from './scripts.ts';
import { counter, isEmptyHash, nullableInt, parseStored } from './validate.ts';

/** Opens the circuit after `threshold` counted failures in a row; a success starts the count over. */
export class ConsecutiveFailures {
  constructor(readonly threshold: number) {
    if (!Number.isInteger(threshold) || threshold < 1) throw new RangeError('threshold must be a whole number >= 1');
  }
}

/**
 * Resilience4j-style time-based sliding window: opens the circuit when, over the last `windowMs`,
 * at least `minCalls` calls were recorded and the failed share reached `rate`. rate 0 = off.
 */
export class FailureRateWindow {
  constructor(
    readonly rate: number,
    readonly windowMs: number,
    readonly minCalls: number,
  ) {
    if (!(rate >= 0 && rate <= 1)) throw new RangeError('failure rate must be within 0..1');
  }
  get enabled(): boolean {
    return this.rate > 0;
  }
}

/** How long an open circuit waits before its probe: `baseMs`, times `multiplier` after each failed probe, at most `maxMs`. */
export class GrowingReset {
  constructor(
    readonly baseMs: number,
    readonly multiplier: number,
    readonly maxMs: number,
  ) {}
}

/** The half-open probe: one lease fleet-wide, valid for `leaseMs`; an unreported lease expires and is granted again. */
export class ProbeLease {
  constructor(readonly leaseMs: number) {}
}

export interface CircuitPolicies {
  consecutive: ConsecutiveFailures;
  failureRate: FailureRateWindow;
  reset: GrowingReset;
  probe: ProbeLease;
}

export interface CircuitSnapshot {
  state: CircuitState;
  consecutive_failures: number;
  opened_at: number | null;
  next_probe_at: number | null;
  /** While half-open: when the current probe lease expires. */
  lease_until: number | null;
  /** The reset time the circuit uses now (grows with failed probes). */
  reset_ms: number | null;
  /** How many times the circuit opened (closed -> open, or a failed probe). */
  trips: number;
  probes_granted: number;
}

export const CLOSED_CIRCUIT: CircuitSnapshot = Object.freeze({
  state: 'closed',
  consecutive_failures: 0,
  opened_at: null,
  next_probe_at: null,
  lease_until: null,
  reset_ms: null,
  trips: 0,
  probes_granted: 0,
});

const circuitSchema = z.object({
  state: z.enum(CIRCUIT_STATES).default('closed'),
  consecutive_failures: counter,
  opened_at: nullableInt.default(null),
  next_probe_at: nullableInt.default(null),
  lease_until: nullableInt.default(null),
  reset_ms: nullableInt.default(null),
  trips: counter,
  probes_granted: counter,
});

/** Whether an outcome feeds the breaker: successes do, and failures whose class counts (never `aborted`). */
export function countsForBreaker(outcome: 'success' | ErrorClass): boolean {
  return outcome === 'success' || CLASS_POLICY[outcome].countsTowardBreaker;
}

export class CircuitBreaker {
  constructor(
    private readonly redis: RedisClient,
    private readonly runner: ScriptRunner,
    private readonly keys: StateKeys,
    readonly policies: CircuitPolicies,
    private readonly channel: string,
    private readonly logger: StateLogger,
  ) {}

  /**
   * One round trip: circuit and cooldown read together; when the probe is due this caller gets
   * the lease (`probeLeaseId`) and must report its outcome with it.
   */
  async admit(provider: DeploymentId, now: number): Promise<Admission> {
    return (await this.admitAndInspect(provider, now)).admission;
  }

  /** admit(), also telling whether the provider is clean: closed, 0 consecutive failures, no cooldown. */
  async admitAndInspect(provider: DeploymentId, now: number): Promise<{ admission: Admission; clean: boolean }> {
    const k = this.keys.provider(provider);
    const reply = (await this.runner.run(
      'admit',
      [k.circuit, k.cooldown],
      [now, randomUUID(), this.policies.probe.leaseMs, this.channel, provider],
    )) as [number, string?, number?];
    if (reply[0] === 1) {
      if (reply[1]) return { admission: { admitted: true, probeLeaseId: String(reply[1]) }, clean: false };
      return { admission: { admitted: true }, clean: Number(reply[2] ?? 1) === 0 };
    }
    const reason = reply[1] === 'cooldown' ? 'cooldown' : 'circuit_open';
    return { admission: { admitted: false, reason, retryAtMs: Number(reply[2] ?? now) }, clean: false };
  }

  /**
   * Queues the outcome on the report pipeline. Outcomes that do not count are never sent, except
   * that one carrying a probe lease hands the lease back (the probe was ours to abort, and says
   * nothing about the provider), so the next caller probes at once rather than after the lease.
   */
  queueOutcome(
    pipeline: ChainableCommander,
    provider: DeploymentId,
    now: number,
    outcome: 'success' | ErrorClass,
    probeLeaseId: string | undefined,
  ): boolean {
    const k = this.keys.provider(provider);
    if (!countsForBreaker(outcome)) {
      if (probeLeaseId) this.runner.queue(pipeline, 'probe-release', [k.circuit], [now, probeLeaseId, this.channel, provider]);
      return false;
    }
    const { consecutive, failureRate, reset } = this.policies;
    this.runner.queue(
      pipeline,
      'circuit-record',
      [k.circuit, k.window],
      [
        now,
        outcome === 'success' ? 'success' : 'failure',
        probeLeaseId ?? '',
        consecutive.threshold,
        reset.baseMs,
        reset.maxMs,
        reset.multiplier,
        failureRate.rate,
        failureRate.windowMs,
        failureRate.minCalls,
        this.channel,
        provider,
        outcome === 'success' ? '' : outcome,
      ],
    );
    return true;
  }

  /** Validates an HGETALL reply of the circuit hash; missing or invalid -> closed (logged when invalid). */
  parse(provider: DeploymentId, raw: Record<string, string>): CircuitSnapshot {
    if (isEmptyHash(raw)) return CLOSED_CIRCUIT;
    return parseStored(circuitSchema, raw, this.logger, `circuit of ${provider}`) ?? CLOSED_CIRCUIT;
  }

  async read(provider: DeploymentId): Promise<CircuitSnapshot> {
    return this.parse(provider, await this.redis.hgetall(this.keys.provider(provider).circuit));
  }

  /** Operator reset: closed now, counts and window cleared. Returns the previous state. */
  async reset(provider: DeploymentId, now: number): Promise<CircuitState> {
    const k = this.keys.provider(provider);
    const previous = await this.runner.run(
      'circuit-reset',
      [k.circuit, k.window],
      [now, this.policies.reset.baseMs, this.channel, provider],
    );
    return previous as CircuitState;
  }
}
