/**
 * Owns the router's vocabulary: its configuration slice, its tuning knobs, the job it routes, the
 * candidates it tries, and the payloads of its events. No behaviour lives here.
 */
import type { ChatRequest, ProviderAdapter } from '@switchyard/providers';
import type { AbortSignalLike, Attempt, Config, DeploymentId, ErrorClass, Logger, Price } from '@switchyard/shared';

/** Monotonic milliseconds. Defaults to performance.now(); tests may inject their own. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => performance.now() };

/** The part of the process configuration (CONTRACT.md) the router reads. */
export type RouterConfig = Pick<
  Config,
  | 'HEDGE_DELAY_MS'
  | 'HEDGE_STAGGER_MS'
  | 'HEDGE_RATIO'
  | 'HEDGE_BURST'
  | 'JOB_BUDGET_MS'
  | 'ATTEMPT_TIMEOUT_MS'
  | 'PROVIDER_CONCURRENCY'
  | 'PROVIDER_CONCURRENCY_DEFAULT'
>;

/** Knobs that are not environment variables; the defaults suit production. */
export interface RouterTuning {
  /** Same-provider retries per candidate for classes with retrySameProvider. */
  maxSameProviderRetries: number;
  /** Exponential backoff for service_unavailable: base * 2^n, capped, with equal jitter. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** A retry is only scheduled when at least this much budget is left at its start. */
  retryMinRemainingMs: number;
  /** Deadline for one FleetState.admit round trip; past it the call is admitted (fail-open). */
  admitTimeoutMs: number;
  /** A denial (open circuit, cooldown) is remembered locally at most this long. */
  denialCacheMaxMs: number;
  /** An aborted call whose adapter has not settled after this long gives its gate slot back anyway. */
  abortGraceMs: number;
  /** Reports in flight to the state store beyond this are dropped (and counted), never queued. */
  maxPendingReports: number;
  /** Random source in [0, 1) for jitter. */
  random: () => number;
}

export const DEFAULT_TUNING: RouterTuning = {
  maxSameProviderRetries: 2,
  backoffBaseMs: 100,
  backoffMaxMs: 2_000,
  retryMinRemainingMs: 50,
  admitTimeoutMs: 250,
  denialCacheMaxMs: 1_000,
  abortGraceMs: 1_000,
  maxPendingReports: 10_000,
  random: Math.random,
};

/** What a job asks for; the router fills in `model` per candidate. */
export type RouteRequest = Omit<ChatRequest, 'model'>;

export interface RouteJob {
  id: string;
  /**
   * What the job names, in order: its model (a route, `<deployment>/<model>` or `provider/model`),
   * then its fallbacks. The router's planner expands them into candidates.
   */
  candidates: readonly string[];
  request: RouteRequest;
  /** The job's whole budget; defaults to JOB_BUDGET_MS. */
  budgetMs?: number;
  /** When given, the job streams: every text delta of the committed provider goes here. */
  onToken?: (delta: string) => void;
  /** External cancel (client DELETE, shutdown): aborts every call of the job at once. */
  signal?: AbortSignalLike;
  /** The job's logger (bound to its id) when the caller has one already; else the router makes one. */
  logger?: Logger;
}

export interface Candidate {
  /** `<deployment>/<model>`: what is called. */
  ref: string;
  /** The deployment called: the key of its breaker, cooldown, concurrency gate and metrics. */
  deployment: DeploymentId;
  /** Its provider kind (`openai`, `azure-openai`, ...), as the job's result names it. */
  provider: string;
  model: string;
  /** Position in the job's candidate list. */
  index: number;
  /** undefined: no such deployment in this process's config; the candidate is skipped. */
  adapter: ProviderAdapter | undefined;
  /** The route the candidate came from, when the job named one. */
  route?: string;
  /** What its tokens cost (the route target's price, else the deployment's): the job's cost_usd. */
  price?: Price;
}

/**
 * Why a call started: the job's first call, a timer-started hedge (rationed), a fallback after a
 * failure (free), or a same-provider retry after backoff or cooldown.
 */
export type CallKind = 'primary' | 'hedge' | 'fallback' | 'retry';

export type SkipReason = 'circuit_open' | 'cooldown' | 'not_configured';

export interface CallStartEvent {
  jobId: string;
  deployment: DeploymentId;
  provider: string;
  model: string;
  kind: CallKind;
  startedMs: number;
}

export interface CallEndEvent {
  jobId: string;
  kind: CallKind;
  attempt: Attempt;
}

export interface SkipEvent {
  jobId: string;
  deployment: DeploymentId;
  provider: string;
  model: string;
  reason: SkipReason;
}

export interface CommitEvent {
  jobId: string;
  deployment: DeploymentId;
  provider: string;
  model: string;
  /** Milliseconds after the job started that the first token arrived. */
  atMs: number;
}

export interface HedgeThrottledEvent {
  jobId: string;
  tokens: number;
}

export interface JobEndEvent {
  jobId: string;
  ok: boolean;
  /** Set when the job failed. */
  errorClass?: ErrorClass;
  provider?: string;
  latencyMs: number;
  attempts: Attempt[];
}
