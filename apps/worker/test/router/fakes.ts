/**
 * In-memory stand-ins for the router's ports, for unit tests of its logic:
 * - FakeAdapter: a provider whose every call follows a scripted step (latency, failure class,
 *   streamed tokens, hang) and which records when each call started, ended and saw its signal abort;
 * - FakeFleet: FleetState implemented faithfully in memory (consecutive-failure breaker with
 *   open / half-open / one probe lease, 429 cooldowns, `aborted` never counted), recording every
 *   admit and report.
 * The real Redis store and real provider servers are exercised by the integration tests.
 */
import type { ChatRequest, ChatResult, ProbeResult, ProviderAdapter, ProviderError } from '@switchyard/providers';
import {
  type Admission,
  type CallOutcome,
  CLASS_POLICY,
  createLogger,
  type ErrorClass,
  type FleetState,
  type ProviderName,
} from '@switchyard/shared';
import { afterEach, beforeEach, vi } from 'vitest';
import { Router, type RouterConfig, type RouterError, type RouterTuning } from '../../src/router/index.ts';

export const now = () => performance.now();
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * What the fakes reject with: ProviderError's public shape (the compiler checks it against the real
 * class), without loading every vendor SDK into each test file. router-robustness.test.ts runs the
 * real ProviderError through the router too.
 */
export class FakeProviderError extends Error implements Pick<ProviderError, 'errorClass' | 'provider' | 'retryAfterMs'> {
  readonly errorClass: ErrorClass;
  readonly provider: ProviderName;
  readonly retryAfterMs?: number;
  constructor(init: { errorClass: ErrorClass; provider: ProviderName; message: string; retryAfterMs?: number }) {
    super(init.message);
    this.name = 'ProviderError';
    this.errorClass = init.errorClass;
    this.provider = init.provider;
    if (init.retryAfterMs !== undefined) this.retryAfterMs = init.retryAfterMs;
  }
}

export interface Step {
  /** Time until the call answers (success or `fail`). Infinity: hang until aborted. */
  latencyMs?: number;
  fail?: ErrorClass;
  retryAfterMs?: number;
  content?: string;
  /** Streaming (only when the router passes onToken): these deltas, the first at firstTokenMs. */
  tokens?: string[];
  firstTokenMs?: number;
  tokenEveryMs?: number;
  /** Streaming: after the tokens, fail with this class instead of finishing. */
  failAfterTokens?: ErrorClass;
}

export interface CallRecord {
  model: string;
  startedAt: number;
  endedAt?: number;
  /** When the call's signal aborted, if it did. */
  abortedAt?: number;
  signal: AbortSignal;
  streamed: boolean;
  timeoutMs?: number;
}

type Script = Step | Step[] | ((model: string, n: number) => Step);

export class FakeAdapter implements ProviderAdapter {
  readonly models: readonly string[] = ['a', 'b', 'c'];
  readonly calls: CallRecord[] = [];
  inFlight = 0;
  maxInFlight = 0;

  constructor(
    readonly provider: ProviderName,
    private script: Script = { latencyMs: 10 },
  ) {}

  setScript(script: Script): void {
    this.script = script;
  }

  get aborted(): CallRecord[] {
    return this.calls.filter((c) => c.abortedAt !== undefined);
  }

  private step(model: string, n: number): Step {
    const s = this.script;
    if (typeof s === 'function') return s(model, n);
    if (Array.isArray(s)) return s[Math.min(n, s.length - 1)] ?? {};
    return s;
  }

  chat(request: ChatRequest, options: { signal: AbortSignal; onToken?: (delta: string) => void; timeoutMs?: number }): Promise<ChatResult> {
    const n = this.calls.length;
    const step = this.step(request.model, n);
    const { signal, onToken } = options;
    const record: CallRecord = {
      model: request.model,
      startedAt: now(),
      signal,
      streamed: onToken !== undefined,
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    };
    this.calls.push(record);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const provider = this.provider;
    const content = step.content ?? `${provider}/${request.model} says hi`;

    return new Promise<ChatResult>((resolve, reject) => {
      const timers: NodeJS.Timeout[] = [];
      const finish = (settle: () => void) => {
        if (record.endedAt !== undefined) return;
        record.endedAt = now();
        this.inFlight--;
        for (const t of timers) clearTimeout(t);
        signal.removeEventListener('abort', onAbort);
        settle();
      };
      const failWith = (errorClass: ErrorClass) =>
        finish(() =>
          reject(
            new FakeProviderError({
              errorClass,
              provider,
              message: `${provider} fake: ${errorClass}`,
              ...(step.retryAfterMs !== undefined ? { retryAfterMs: step.retryAfterMs } : {}),
            }),
          ),
        );
      const succeed = () =>
        finish(() =>
          resolve({ content, finishReason: 'stop', usage: { promptTokens: 3, completionTokens: 5, totalTokens: 8 }, model: request.model }),
        );
      const onAbort = () => {
        record.abortedAt = now();
        failWith('aborted');
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });

      const latency = step.latencyMs ?? 10;
      if (onToken && step.tokens) {
        const first = step.firstTokenMs ?? 10;
        const every = step.tokenEveryMs ?? 10;
        step.tokens.forEach((delta, i) => {
          timers.push(setTimeout(() => onToken(delta), first + i * every));
        });
        const lastAt = first + (step.tokens.length - 1) * every;
        if (step.failAfterTokens) {
          const cls = step.failAfterTokens;
          timers.push(setTimeout(() => failWith(cls), lastAt + 5));
        } else if (Number.isFinite(latency)) {
          timers.push(setTimeout(step.fail ? () => failWith(step.fail as ErrorClass) : succeed, Math.max(latency, lastAt + 1)));
        }
        return;
      }
      if (!Number.isFinite(latency)) return;
      timers.push(setTimeout(step.fail ? () => failWith(step.fail as ErrorClass) : succeed, latency));
    });
  }

  async probe(): Promise<ProbeResult> {
    return { state: 'active', latencyMs: 1 };
  }
}

interface Breaker {
  failures: number;
  openedAt?: number;
  lease?: { id: string; until: number };
  cooldownUntil?: number;
}

/** FleetState in memory, with the semantics DESIGN.md section 2 gives the Redis store. */
export class FakeFleet implements FleetState {
  readonly reports: CallOutcome[] = [];
  readonly admits: string[] = [];
  private readonly breakers = new Map<string, Breaker>();
  private leaseSeq = 0;
  /** Fault injection. */
  admitDelayMs = 0;
  admitError: Error | undefined;
  reportError: Error | undefined;
  reportThrowsSync = false;

  constructor(
    readonly threshold = 3,
    readonly resetMs = 60_000,
    readonly leaseMs = 10_000,
  ) {}

  private breaker(provider: string): Breaker {
    let b = this.breakers.get(provider);
    if (!b) {
      b = { failures: 0 };
      this.breakers.set(provider, b);
    }
    return b;
  }

  consecutiveFailures(provider: string): number {
    return this.breaker(provider).failures;
  }

  circuit(provider: string): 'closed' | 'open' | 'half_open' {
    const b = this.breaker(provider);
    if (b.openedAt === undefined) return 'closed';
    return Date.now() < b.openedAt + this.resetMs ? 'open' : 'half_open';
  }

  /** Opens the circuit as if `threshold` failures had been reported, `agoMs` ago. */
  open(provider: ProviderName, agoMs = 0): void {
    const b = this.breaker(provider);
    b.failures = this.threshold;
    b.openedAt = Date.now() - agoMs;
  }

  coolDown(provider: ProviderName, forMs: number): void {
    this.breaker(provider).cooldownUntil = Date.now() + forMs;
  }

  reportsFor(provider: ProviderName): CallOutcome[] {
    return this.reports.filter((r) => r.provider === provider);
  }

  async admit(provider: ProviderName): Promise<Admission> {
    this.admits.push(provider);
    if (this.admitDelayMs > 0) await sleep(this.admitDelayMs);
    if (this.admitError) throw this.admitError;
    const b = this.breaker(provider);
    const t = Date.now();
    if (b.cooldownUntil !== undefined && t < b.cooldownUntil) return { admitted: false, reason: 'cooldown', retryAtMs: b.cooldownUntil };
    if (b.openedAt === undefined) return { admitted: true };
    if (t < b.openedAt + this.resetMs) return { admitted: false, reason: 'circuit_open', retryAtMs: b.openedAt + this.resetMs };
    if (b.lease && t < b.lease.until) return { admitted: false, reason: 'circuit_open', retryAtMs: b.lease.until };
    b.lease = { id: `lease-${++this.leaseSeq}`, until: t + this.leaseMs };
    return { admitted: true, probeLeaseId: b.lease.id };
  }

  report(outcome: CallOutcome): Promise<void> {
    if (this.reportThrowsSync) throw new Error('report exploded synchronously');
    this.reports.push(outcome);
    if (this.reportError) return Promise.reject(this.reportError);
    const b = this.breaker(outcome.provider);
    const isProbe = outcome.probeLeaseId !== undefined && b.lease?.id === outcome.probeLeaseId;
    if (isProbe) b.lease = undefined;
    if (outcome.outcome === 'success') {
      b.failures = 0;
      if (isProbe) b.openedAt = undefined;
    } else if (outcome.outcome === 'rate_limited' && outcome.retryAfterMs !== undefined) {
      b.cooldownUntil = Date.now() + outcome.retryAfterMs;
    } else if (outcome.outcome !== 'aborted' && CLASS_POLICY[outcome.outcome].countsTowardBreaker) {
      b.failures++;
      if (isProbe || (b.openedAt === undefined && b.failures >= this.threshold)) b.openedAt = Date.now();
    }
    return Promise.resolve();
  }
}

export const TEST_CONFIG: RouterConfig = {
  HEDGE_DELAY_MS: 200,
  HEDGE_STAGGER_MS: 100,
  HEDGE_RATIO: 1,
  HEDGE_BURST: 100,
  JOB_BUDGET_MS: 5_000,
  ATTEMPT_TIMEOUT_MS: 20_000,
  PROVIDER_CONCURRENCY: {},
  PROVIDER_CONCURRENCY_DEFAULT: 64,
};

export const silentLogger = createLogger({ name: 'router-test', level: 'silent' });

export function makeRouter(options: {
  adapters: FakeAdapter[];
  fleet?: FakeFleet;
  config?: Partial<RouterConfig>;
  tuning?: Partial<RouterTuning>;
}): { router: Router; fleet: FakeFleet } {
  const fleet = options.fleet ?? new FakeFleet();
  const router = new Router({
    adapters: new Map(options.adapters.map((a) => [a.provider, a])),
    fleet,
    config: { ...TEST_CONFIG, ...options.config },
    logger: silentLogger,
    tuning: { random: () => 0.5, ...options.tuning },
  });
  return { router, fleet };
}

export const REQUEST = { messages: [{ role: 'user' as const, content: 'hi' }] };

/**
 * Fake time for the router's tests: setTimeout, Date and performance.now (the router's default
 * clock) run on a clock the test moves, so every duration the tests assert is exact and no outcome
 * depends on how busy this 2-core machine is. Hedge delays, budgets and backoffs keep their real
 * values: a missed abort, a final sweep or a wait for the wrong timer still fails every run.
 * Microtasks and setImmediate stay real and run between timers, as on a real event loop.
 */
export function useFakeTime(): void {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });
}

/**
 * Moves fake time forward one timer at a time until `promise` settles, and returns it. Nothing
 * is skipped: time stops at the timer whose callback (or the promises it resolved) settled it.
 */
export async function untilSettled<T>(promise: Promise<T>): Promise<T> {
  let settled = false;
  const mark = () => {
    settled = true;
  };
  promise.then(mark, mark);
  for (;;) {
    // Whatever is already due (promise callbacks, setImmediate) runs before time moves on.
    await new Promise((resolve) => setImmediate(resolve));
    if (settled) return promise;
    if (vi.getTimerCount() === 0) throw new Error('the promise waits on nothing that can ever run');
    await vi.advanceTimersToNextTimerAsync();
  }
}

/** untilSettled for a job expected to fail: its RouterError (a success fails the test). */
export async function rejection(job: Promise<unknown>): Promise<RouterError> {
  const outcome = await untilSettled(
    job.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    ),
  );
  if (!('error' in outcome)) throw new Error(`expected the job to fail, it succeeded: ${JSON.stringify(outcome.value)}`);
  return outcome.error as RouterError;
}

/** Fake time passes (every timer due meanwhile runs, with the promises it resolves). */
export async function elapse(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
}

/** Runs `fn` on fake time, returning its outcome and how long (in fake time) it took. */
export function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const start = now();
  return untilSettled(
    (async () => fn())().then(
      (value) => ({ ms: now() - start, value }),
      (error: unknown) => ({ ms: now() - start, error }),
    ),
  );
}
