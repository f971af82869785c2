/**
 * Owns turning a job's model names into the router's ordered candidates under one fleet config
 * (CONTRACT.md, "Routes and deployments"): a route expands to its targets in its strategy's order
 * (those that may take traffic first), then its fallbacks (other routes, expanded the same way, or
 * `<deployment>/<model>` refs), then the job's own fallbacks. A deployment/model pair appears once.
 * The plan is made once per job from one config snapshot, so a reload never mixes two configs in
 * one job; the candidates carry their adapters, so a job already routed keeps them after a reload.
 */
import type { FleetRuntime } from '@switchyard/providers';
import type { DeploymentConfig, DeploymentId, Price, RouteConfig, RouteStrategy } from '@switchyard/shared';
import type { Candidate } from '../router/types.ts';
import type { RoutingStrategy, StrategyContext } from './strategies/index.ts';

export interface CandidatePlan {
  candidates: Candidate[];
  /** The route's own hedge timing, when the job's model is a route that sets it. */
  hedgeDelayMs?: number;
  hedgeStaggerMs?: number;
  /** The config the plan was made from. */
  configHash: string;
}

export class CandidatePlanner {
  constructor(
    private readonly runtime: () => FleetRuntime,
    private readonly strategies: Readonly<Record<RouteStrategy, RoutingStrategy>>,
    private readonly context: StrategyContext,
  ) {}

  /**
   * `available(deployment)`: false when this process already knows the deployment cannot take
   * traffic (open circuit, cooldown); such targets go after the others, where the router skips them.
   */
  plan(names: readonly string[], available: (deployment: DeploymentId) => boolean): CandidatePlan {
    const runtime = this.runtime();
    const out: Candidate[] = [];
    const seen = new Set<string>();
    const push = (deployment: DeploymentConfig | undefined, deploymentId: string, model: string, route?: string, targetPrice?: Price) => {
      const key = `${deploymentId}\0${model}`;
      if (seen.has(key)) return;
      seen.add(key);
      out.push({
        ref: `${deploymentId}/${model}`,
        deployment: deploymentId,
        provider: deployment?.provider ?? deploymentId,
        model,
        index: out.length,
        adapter: deployment ? runtime.adapters.get(deploymentId) : undefined,
        ...(route !== undefined ? { route } : {}),
        // Usage and spend: a target's own price wins over its deployment's.
        ...withPrice(targetPrice ?? deployment?.price),
      });
    };
    const expandRoute = (route: RouteConfig, visiting: Set<string>) => {
      if (visiting.has(route.name)) return;
      visiting.add(route.name);
      const up = route.targets.filter((t) => available(t.deployment));
      const down = route.targets.filter((t) => !available(t.deployment));
      for (const target of [...this.strategies[route.strategy].order(up, this.context), ...down]) {
        push(runtime.names.deployment(target.deployment), target.deployment, target.model, route.name, target.price);
      }
      for (const fallback of route.fallbacks) expand(fallback, visiting);
    };
    const expand = (name: string, visiting: Set<string>) => {
      const resolved = runtime.names.resolve(name);
      if (resolved.kind === 'route') expandRoute(resolved.route, visiting);
      else if (resolved.kind === 'target') push(resolved.deployment, resolved.deployment.id, resolved.model);
      else {
        // Not in this config (the API validated it against its own: configs differ mid-rollout).
        // It stays a candidate without an adapter: skipped as not configured, and when nothing else
        // is left the job fails with model_not_found instead of a guess.
        const slash = name.indexOf('/');
        push(undefined, slash > 0 ? name.slice(0, slash) : name, slash > 0 ? name.slice(slash + 1) : name);
      }
    };
    for (const name of names) expand(name, new Set());
    const first = names[0] !== undefined ? runtime.names.route(names[0]) : undefined;
    return {
      candidates: out,
      ...(first?.hedgeDelayMs !== undefined ? { hedgeDelayMs: first.hedgeDelayMs } : {}),
      ...(first?.hedgeStaggerMs !== undefined ? { hedgeStaggerMs: first.hedgeStaggerMs } : {}),
      configHash: runtime.config.hash,
    };
  }
}

const withPrice = (price: Price | undefined): { price?: Price } => (price ? { price } : {});
