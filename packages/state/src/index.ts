/**
 * @switchyard/state: the Redis state store shared by every API and worker replica: provider
 * state records, fleet-wide circuit breakers, 429 cooldowns, the status cache, metrics and the
 * worker registry. Start with createStateStore().
 */
export * from './circuit-breaker.ts';
export * from './cooldown.ts';
export * from './deployments.ts';
export * from './events.ts';
export * from './fleet-state.ts';
export * from './keys.ts';
export * from './latency-histogram.ts';
export * from './logger.ts';
export * from './metrics.ts';
export * from './metrics-reader.ts';
export * from './options.ts';
export * from './prometheus.ts';
export * from './provider-state.ts';
export * from './provider-view.ts';
export * from './routing-load.ts';
export { SCRIPTS, type ScriptName, type ScriptObserver, ScriptRunner } from './scripts.ts';
export * from './status-cache.ts';
export * from './store.ts';
export * from './usage.ts';
export * from './workers.ts';
