/**
 * The router's public surface: the Router (one per worker process), its error, and the policies
 * it composes, exported for the worker's wiring and for tests.
 */
export { AdmissionControl, type DeniedEvent } from './admission.ts';
export { retryDelayMs } from './backoff.ts';
export { Budget, BudgetAbort, type BudgetEndReason } from './budget.ts';
export { ConcurrencyGate, ProviderGates, type Release } from './concurrency-gate.ts';
export { type Disposable, type Event, EventEmitter } from './events.ts';
export { HedgeTokenBucket } from './hedge-tokens.ts';
export { OutcomeReporter } from './reporter.ts';
export { Router, type RouterDeps, type RouterStats } from './router.ts';
export { isRouterError, RouterError, type RouterFailure } from './router-error.ts';
export * from './types.ts';
