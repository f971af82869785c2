/**
 * Owns routing jobs in one worker process: it holds the process-wide policies (hedge token bucket,
 * per-provider concurrency gates, fleet admission, outcome reporting) and, per job, composes them
 * explicitly with a Budget and a Hedger:
 *
 *   route(job) = Budget(job.budgetMs, job.signal)  ->  Hedger(candidates)  ->  per call:
 *                local denial? -> ConcurrencyGate -> AdmissionControl -> adapter.chat -> OutcomeReporter
 *
 * It resolves with the contract's JobResult or rejects with a RouterError, and exposes events for
 * every state change (calls, skips, throttled hedges, stream commits, job ends) for metrics and tests.
 */
import type { ProviderAdapter } from '@switchyard/providers';
import { type CallOutcome, type DeploymentId, type FleetState, type JobResult, type Logger, parseModelRef } from '@switchyard/shared';
import type { CandidatePlan, CandidatePlanner } from '../routing/planner.ts';
import { AdmissionControl, type DeniedEvent } from './admission.ts';
import { Budget } from './budget.ts';
import { ProviderGates } from './concurrency-gate.ts';
import { type Event, EventEmitter } from './events.ts';
import { HedgeTokenBucket } from './hedge-tokens.ts';
import { Hedger, type HedgerEmitters } from './hedger.ts';
import type { CallServices } from './provider-call.ts';
import { OutcomeReporter } from './reporter.ts';
import { isRouterError, RouterError } from './router-error.ts';
import {
  type CallEndEvent,
  type CallStartEvent,
  type Candidate,
  type Clock,
  type CommitEvent,
  DEFAULT_TUNING,
  type HedgeThrottledEvent,
  type JobEndEvent,
  type RouteJob,
  type RouterConfig,
  type RouterTuning,
  type SkipEvent,
  systemClock,
} from './types.ts';

export interface RouterDeps {
  /**
   * Expands a job's model names into candidates (routes, deployments, strategies). Without one,
   * names are `provider/model` of implicit deployments: `adapters` below, keyed by provider name.
   */
  planner?: CandidatePlanner;
  /** The implicit deployments' adapters, when there is no planner; a candidate without one is skipped. */
  adapters?: ReadonlyMap<DeploymentId, ProviderAdapter>;
  /** In-flight cap per deployment in this process; default PROVIDER_CONCURRENCY by the id, else its default. */
  concurrencyLimit?: (deployment: DeploymentId) => number;
  fleet: FleetState;
  config: RouterConfig;
  logger: Logger;
  clock?: Clock;
  tuning?: Partial<RouterTuning>;
}

export interface RouterStats {
  hedgeTokens: number;
  gates: Record<string, { limit: number; inFlight: number; waiting: number }>;
  reports: { pending: number; dropped: number; failed: number };
  activeJobs: number;
}

export class Router {
  private readonly tuning: RouterTuning;
  private readonly clock: Clock;
  private readonly bucket: HedgeTokenBucket;
  private readonly gates: ProviderGates;
  private readonly admission: AdmissionControl;
  private readonly reporter: OutcomeReporter;
  private readonly services: CallServices;
  private readonly emitters: HedgerEmitters;
  private readonly jobEnd: EventEmitter<JobEndEvent>;
  private active = 0;

  /** A request went to a provider. */
  readonly onCallStart: Event<CallStartEvent>;
  /** A call's outcome is known (or we aborted it): its Attempt. */
  readonly onCallEnd: Event<CallEndEvent>;
  /** A candidate was passed over: circuit open, cooldown, provider not enabled. */
  readonly onSkip: Event<SkipEvent>;
  /** A streaming job received its first token and is committed to that call. */
  readonly onCommit: Event<CommitEvent>;
  /** A hedge was due but the token bucket was empty. */
  readonly onHedgeThrottled: Event<HedgeThrottledEvent>;
  /** A job resolved or failed. */
  readonly onJobEnd: Event<JobEndEvent>;
  /** The fleet denied admission (fresh or from the local cache). */
  readonly onDenied: Event<DeniedEvent>;
  /** The fleet did not answer an admission in time or failed: the call went ahead (fail-open). */
  readonly onAdmitFailOpen: Event<{ provider: DeploymentId; error: string }>;
  /** A report to the fleet failed or was dropped. */
  readonly onReportFailed: Event<{ outcome: CallOutcome; error: string }>;

  constructor(private readonly deps: RouterDeps) {
    const { config, logger, fleet } = deps;
    this.tuning = { ...DEFAULT_TUNING, ...deps.tuning };
    this.clock = deps.clock ?? systemClock;
    const onListenerError = (err: unknown) => logger.error({ error: String(err) }, 'router.listener.failed');
    this.emitters = {
      callStart: new EventEmitter(onListenerError),
      callEnd: new EventEmitter(onListenerError),
      skip: new EventEmitter(onListenerError),
      commit: new EventEmitter(onListenerError),
      hedgeThrottled: new EventEmitter(onListenerError),
    };
    this.jobEnd = new EventEmitter(onListenerError);
    this.bucket = new HedgeTokenBucket(config.HEDGE_RATIO, config.HEDGE_BURST);
    const byKind = config.PROVIDER_CONCURRENCY as Readonly<Record<string, number | undefined>>;
    this.gates = new ProviderGates(deps.concurrencyLimit ?? ((deployment) => byKind[deployment] ?? config.PROVIDER_CONCURRENCY_DEFAULT));
    this.reporter = new OutcomeReporter(fleet, this.tuning.maxPendingReports, logger);
    const releaseLease = (provider: DeploymentId, model: string, probeLeaseId: string) =>
      this.reporter.report({
        provider,
        model,
        outcome: 'aborted',
        latencyMs: 0,
        message: 'probe lease unused: no call was made with it',
        probeLeaseId,
        leaseOnly: true,
      });
    this.admission = new AdmissionControl(fleet, {
      timeoutMs: this.tuning.admitTimeoutMs,
      denialCacheMaxMs: this.tuning.denialCacheMaxMs,
      releaseLease,
      logger,
    });
    this.services = {
      gates: this.gates,
      admission: this.admission,
      reporter: this.reporter,
      clock: this.clock,
      abortGraceMs: this.tuning.abortGraceMs,
      attemptTimeoutMs: config.ATTEMPT_TIMEOUT_MS,
      releaseLease,
    };
    this.onCallStart = this.emitters.callStart.event;
    this.onCallEnd = this.emitters.callEnd.event;
    this.onSkip = this.emitters.skip.event;
    this.onCommit = this.emitters.commit.event;
    this.onHedgeThrottled = this.emitters.hedgeThrottled.event;
    this.onJobEnd = this.jobEnd.event;
    this.onDenied = this.admission.onDenied;
    this.onAdmitFailOpen = this.admission.onFailOpen;
    this.onReportFailed = this.reporter.onReportFailed;
  }

  /**
   * Routes one job. Resolves with its JobResult; rejects only with RouterError. Never runs past
   * the job's budget; every call it started is aborted by the time it settles (except the winner).
   */
  async route(job: RouteJob): Promise<JobResult> {
    const logger = job.logger ?? this.deps.logger.child({ jobId: job.id });
    const plan = this.plan(job.candidates);
    const { candidates } = plan;
    const budgetMs = job.budgetMs ?? this.deps.config.JOB_BUDGET_MS;
    const budget = new Budget(budgetMs, this.clock, job.signal);
    this.active++;
    try {
      const result = await new Hedger(job, candidates, budget, {
        config: withRouteTiming(this.deps.config, plan),
        tuning: this.tuning,
        services: this.services,
        bucket: this.bucket,
        emitters: this.emitters,
        logger,
      }).run();
      // The worker logs every completed job at info ("job completed", same fields): one line per job is enough.
      logger.debug(
        { provider: result.provider, model: result.model, latencyMs: result.latency_ms, calls: result.attempts.length },
        'router.job.completed',
      );
      this.jobEnd.emit({ jobId: job.id, ok: true, provider: result.provider, latencyMs: result.latency_ms, attempts: result.attempts });
      return result;
    } catch (err) {
      const error = isRouterError(err)
        ? err
        : new RouterError({
            errorClass: 'invalid_response',
            reason: 'failed',
            message: String(err),
            attempts: [],
            permanent: false,
            cause: err,
          });
      const latencyMs = Math.round(budget.elapsedMs());
      logger.info(
        {
          provider: error.provider,
          errorClass: error.errorClass,
          reason: error.reason,
          permanent: error.permanent,
          latencyMs,
          calls: error.attempts.length,
          error: error.message,
        },
        'router.job.failed',
      );
      this.jobEnd.emit({
        jobId: job.id,
        ok: false,
        errorClass: error.errorClass,
        ...(error.provider !== undefined ? { provider: error.provider } : {}),
        latencyMs,
        attempts: error.attempts,
      });
      throw error;
    } finally {
      budget.dispose();
      this.active--;
    }
  }

  /** The job's candidates: from the planner (fleet config), else as implicit `provider/model` refs. */
  private plan(names: readonly string[]): Pick<CandidatePlan, 'candidates' | 'hedgeDelayMs' | 'hedgeStaggerMs'> {
    if (names.length === 0) {
      throw new RouterError({
        errorClass: 'bad_request',
        reason: 'invalid_job',
        message: 'the job names no model',
        attempts: [],
        permanent: true,
      });
    }
    if (!this.deps.planner) return { candidates: implicitCandidates(names, this.deps.adapters ?? new Map()) };
    return this.deps.planner.plan(names, (deployment) => this.admission.cachedDenial(deployment) === undefined);
  }

  stats(): RouterStats {
    return {
      hedgeTokens: this.bucket.available,
      gates: this.gates.snapshot(),
      reports: this.reporter.stats,
      activeJobs: this.active,
    };
  }

  /** This process's calls in flight per deployment (its concurrency gates): the local part of the fleet's load. */
  get inFlight(): { inFlight(deployment: DeploymentId): number; deployments(): Iterable<DeploymentId> } {
    return this.gates;
  }

  /** For shutdown: waits (at most `timeoutMs`) for reports still in flight. True when all landed. */
  drain(timeoutMs: number): Promise<boolean> {
    return this.reporter.drain(timeoutMs);
  }
}

/** A route's own hedge timing replaces the process default for that job only. */
function withRouteTiming(config: RouterConfig, plan: Pick<CandidatePlan, 'hedgeDelayMs' | 'hedgeStaggerMs'>): RouterConfig {
  if (plan.hedgeDelayMs === undefined && plan.hedgeStaggerMs === undefined) return config;
  return {
    ...config,
    HEDGE_DELAY_MS: plan.hedgeDelayMs ?? config.HEDGE_DELAY_MS,
    HEDGE_STAGGER_MS: plan.hedgeStaggerMs ?? config.HEDGE_STAGGER_MS,
  };
}

/** `provider/model` strings to candidates of implicit deployments; a malformed one is a bad request. */
function implicitCandidates(refs: readonly string[], adapters: ReadonlyMap<DeploymentId, ProviderAdapter>): Candidate[] {
  return refs.map((ref, index) => {
    const parsed = parseModelRef(ref);
    if ('error' in parsed) {
      throw new RouterError({ errorClass: 'bad_request', reason: 'invalid_job', message: parsed.error, attempts: [], permanent: true });
    }
    return {
      ref,
      deployment: parsed.provider,
      provider: parsed.provider,
      model: parsed.model,
      index,
      adapter: adapters.get(parsed.provider),
    };
  });
}
