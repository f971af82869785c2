/**
 * Owns the interface every route strategy implements (DESIGN.md section 8, after LiteLLM's
 * router_strategy): one small class per strategy, given the targets that may take traffic now and
 * returning them in the order to try. The first is called; the rest follow as hedges and
 * fallbacks, so a strategy decides where traffic goes first, never whether a job may fail over.
 */
import type { DeploymentId, RouteStrategy, RouteTarget } from '@switchyard/shared';
import type { DeploymentLoad } from '@switchyard/state';

export interface StrategyContext {
  /** Fleet-wide figures of a deployment (calls in flight, recent latency); undefined when none yet. */
  load(deployment: DeploymentId): DeploymentLoad | undefined;
  /** Uniform in [0, 1). */
  random(): number;
}

export interface RoutingStrategy {
  readonly name: RouteStrategy;
  order(targets: readonly RouteTarget[], context: StrategyContext): RouteTarget[];
}

/** Fisher-Yates on a copy: ties broken at random so equal targets share traffic. */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
