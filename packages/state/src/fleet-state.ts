/**
 * Owns RedisFleetState, the FleetState port (packages/shared/src/fleet.ts) over Redis: admit()
 * is one script call (circuit + cooldown, granting the half-open probe lease when due); report()
 * sends one pipeline (breaker, provider state, cooldown: all in the provider's slot), bounded in
 * time and in number, and never throws, because the job whose outcome is reported already has its
 * answer and a Redis hiccup must not fail it. Metrics are added up and flushed on a timer.
 * While the ProviderView knows a provider to be clean fleet-wide, admissions come from memory and
 * successes skip the breaker write and most provider-state writes (see provider-view.ts).
 */
import {
  type Admission,
  type CallOutcome,
  type DeploymentId,
  type FleetState,
  isDeploymentId,
  isErrorClass,
  type ProviderState,
  type RedisClient,
  stateForClass,
} from '@switchyard/shared';
import type { ChainableCommander } from 'ioredis';
import { type CircuitBreaker, countsForBreaker } from './circuit-breaker.ts';
import type { RateLimitCooldown } from './cooldown.ts';
import type { StateEvent, StateEventSubscription } from './events.ts';
import { type StateLogger, ThrottledWarning } from './logger.ts';
import type { MetricsRecorder, RecordedCall } from './metrics.ts';
import type { ProviderStateRecords } from './provider-state.ts';
import type { ProviderView } from './provider-view.ts';

/** The answer while the view says clean: one frozen object, nothing allocated per call. */
const ADMITTED: Admission = Object.freeze({ admitted: true });

export interface FleetStateParts {
  breaker: CircuitBreaker;
  cooldown: RateLimitCooldown;
  records: ProviderStateRecords;
  metrics: MetricsRecorder;
  /** Without a view every admission and every success goes to Redis. */
  view?: {
    providers: ProviderView;
    /** Subscribes the view to state events; called on first use, closed by close(). */
    subscribe: (onEvent: (event: StateEvent) => void, onLive: (live: boolean) => void) => StateEventSubscription;
  };
}

export interface FleetStateOptions {
  clock: () => number;
  reportTimeoutMs: number;
  maxPendingReports: number;
  /** admit() answers "admitted" when Redis has not answered by then. Default 500 ms. */
  admitTimeoutMs?: number;
  /** Metrics are added up in the process and written this often; 0 writes them with each report. */
  metricsFlushMs: number;
}

/** Resolves with `fallback` if `promise` has not settled within `ms` (the promise keeps running). */
function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

const TIMED_OUT = Symbol('timed out');

export class RedisFleetState implements FleetState {
  private pending = 0;
  private readonly reportWarning: ThrottledWarning;
  private readonly admitWarning: ThrottledWarning;
  private readonly admitTimeoutMs: number;
  private flushTimer: NodeJS.Timeout | undefined;
  private viewSubscription: StateEventSubscription | undefined;
  private lastFlush: Promise<void> = Promise.resolve();

  constructor(
    private readonly redis: RedisClient,
    private readonly parts: FleetStateParts,
    private readonly options: FleetStateOptions,
    logger: StateLogger,
  ) {
    this.reportWarning = new ThrottledWarning(logger, 'state report dropped: Redis did not take it; the job is unaffected');
    this.admitWarning = new ThrottledWarning(logger, 'admission check failed: Redis did not answer; admitting the call');
    this.admitTimeoutMs = options.admitTimeoutMs ?? 500;
  }

  /** Reports sent and not yet answered by Redis. */
  get pendingReports(): number {
    return this.pending;
  }

  /** The admission known without a round trip: the provider view says the provider is clean. */
  admitNow(provider: DeploymentId): Admission | undefined {
    return this.view()?.isClean(provider) ? ADMITTED : undefined;
  }

  /**
   * Fails open: when Redis cannot answer, the call is admitted. A state store outage must not
   * take every provider out; the providers' own errors still reach the breaker once Redis is back.
   */
  async admit(provider: DeploymentId): Promise<Admission> {
    const known = this.admitNow(provider);
    if (known) return known;
    const view = this.view();
    try {
      const inspected = await within<{ admission: Admission; clean: boolean } | typeof TIMED_OUT>(
        this.parts.breaker.admitAndInspect(provider, this.options.clock()),
        this.admitTimeoutMs,
        TIMED_OUT,
      );
      if (inspected !== TIMED_OUT) {
        if (inspected.clean) view?.confirmClean(provider);
        return inspected.admission;
      }
      this.admitWarning.warn({ provider, reason: 'timeout', timeoutMs: this.admitTimeoutMs });
    } catch (err) {
      this.admitWarning.warn({ provider, err: (err as Error).message });
    }
    return { admitted: true };
  }

  async report(outcome: CallOutcome): Promise<void> {
    try {
      await this.send(outcome);
    } catch (err) {
      this.reportWarning.warn({ provider: outcome?.provider, err: (err as Error).message });
    }
  }

  /** The provider view, subscribed on first use; undefined when the store was built without one. */
  private view(): ProviderView | undefined {
    const view = this.parts.view;
    if (!view) return undefined;
    if (!this.viewSubscription) {
      this.viewSubscription = view.subscribe(
        (event) => view.providers.onEvent(event),
        (live) => view.providers.setLive(live),
      );
    }
    return view.providers;
  }

  /** Writes pending metrics and stops the view's subscription. */
  async close(): Promise<void> {
    await this.flush();
    const subscription = this.viewSubscription;
    this.viewSubscription = undefined;
    await subscription?.close();
  }

  /**
   * Writes the metrics added up so far (one pipeline per provider: one slot each), bounded by the
   * report deadline. Never throws; counts a failed pipeline could not write are logged and dropped,
   * never written twice. Shutdown and tests that read metrics right after reporting call it.
   */
  async flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const { metrics } = this.parts;
    const writes = metrics.providersPending().map((provider) => {
      const pipeline = this.redis.pipeline();
      metrics.queuePending(pipeline, provider);
      return this.settleWithin(pipeline.exec(), provider);
    });
    // A caller of flush() also waits for the writes of a flush already on its way (the timer's).
    const all = Promise.all([this.lastFlush, ...writes]).then(() => undefined);
    this.lastFlush = all;
    await all;
  }

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => void this.flush(), this.options.metricsFlushMs);
    // A process that is otherwise done must not stay alive for its metrics: shutdown flushes.
    this.flushTimer.unref();
  }

  /** Resolves once `exec` settled or the report deadline passed; failures are logged, never thrown. */
  private async settleWithin(exec: Promise<Array<[Error | null, unknown]> | null>, provider: DeploymentId): Promise<void> {
    this.pending += 1;
    const tracked = exec.finally(() => {
      this.pending -= 1;
    });
    // Whatever happens after the deadline is still observed, so nothing is left unhandled.
    tracked.then(
      (replies) => {
        const failed = replies?.find(([err]) => err);
        if (failed) this.reportWarning.warn({ provider, err: (failed[0] as Error).message });
      },
      (err: Error) => this.reportWarning.warn({ provider, err: err.message }),
    );
    const settled = await within(
      tracked.then(
        () => true,
        () => true,
      ),
      this.options.reportTimeoutMs,
      false,
    );
    if (!settled) this.reportWarning.warn({ provider, reason: 'timeout', timeoutMs: this.options.reportTimeoutMs });
  }

  private async send(o: CallOutcome): Promise<void> {
    if (!isDeploymentId(o.provider) || (o.outcome !== 'success' && !isErrorClass(o.outcome))) {
      this.reportWarning.warn({ reason: 'malformed outcome', provider: String(o.provider).slice(0, 32) });
      return;
    }
    // A job-level verdict, not a provider call: nothing about the provider to record.
    if (o.outcome === 'no_provider_available') return;
    if (this.pending >= this.options.maxPendingReports) {
      this.reportWarning.warn({ provider: o.provider, reason: 'too many reports in flight', pending: this.pending });
      return;
    }
    const { breaker, cooldown, records } = this.parts;
    const now = this.options.clock();
    if (o.leaseOnly) {
      const release = this.redis.pipeline();
      breaker.queueOutcome(release, o.provider, now, 'aborted', o.probeLeaseId);
      return this.settleWithin(release.exec(), o.provider);
    }
    const view = this.view();
    const call = { provider: o.provider, outcome: o.outcome, latencyMs: o.latencyMs };
    if (o.outcome === 'success') {
      // While the counter is 0 fleet-wide as far as anyone has said, resetting it changes nothing.
      const writeBreaker = Boolean(o.probeLeaseId) || !view?.canSkipSuccess(o.provider);
      const writeActive = !view || view.claimActiveWrite(o.provider);
      // A clean provider's success mostly has nothing for Redis: then no pipeline is built (ioredis
      // copies every command defined on the connection onto each one).
      if (!writeBreaker && !writeActive) return this.finishReport(undefined, call, now);
      const pipeline = this.redis.pipeline();
      if (writeBreaker) breaker.queueOutcome(pipeline, o.provider, now, o.outcome, o.probeLeaseId);
      if (writeActive) records.queueReport(pipeline, o.provider, now, { state: 'active' });
      return this.finishReport(pipeline, call, now);
    }
    const pipeline = this.redis.pipeline();
    if (countsForBreaker(o.outcome)) view?.taint(o.provider);
    breaker.queueOutcome(pipeline, o.provider, now, o.outcome, o.probeLeaseId);
    const state: ProviderState | null = stateForClass(o.outcome);
    if (state) {
      records.queueReport(pipeline, o.provider, now, { state, errorClass: o.outcome, message: o.message ?? o.outcome });
      view?.forgetActiveWrite(o.provider);
    }
    if (o.outcome === 'rate_limited') cooldown.queueStart(pipeline, o.provider, now, o.retryAfterMs);
    return this.finishReport(pipeline, call, now);
  }

  /** Adds the call to the metrics (buffered, or into the pipeline) and sends what the pipeline holds. */
  private async finishReport(pipeline: ChainableCommander | undefined, call: RecordedCall, now: number): Promise<void> {
    let writes = pipeline;
    if (this.options.metricsFlushMs > 0) {
      this.parts.metrics.add(call, now);
      this.scheduleFlush();
    } else {
      writes ??= this.redis.pipeline();
      this.parts.metrics.queue(writes, call, now);
    }
    if (!writes || writes.length === 0) return;
    await this.settleWithin(writes.exec(), call.provider);
  }
}
