/**
 * `latency`: lowest recent latency across the fleet first. A target with no figure yet goes first
 * (it has to be measured), and a share of jobs (`exploreShare`) puts another target first at
 * random, so a deployment that was slow once keeps being measured and wins back its traffic when
 * it recovers.
 */
import type { RouteTarget } from '@switchyard/shared';
import { type RoutingStrategy, type StrategyContext, shuffled } from './strategy.ts';

export class LatencyStrategy implements RoutingStrategy {
  readonly name = 'latency' as const;

  constructor(private readonly exploreShare = 0.1) {}

  order(targets: readonly RouteTarget[], { load, random }: StrategyContext): RouteTarget[] {
    const latency = (t: RouteTarget) => load(t.deployment)?.latencyMs ?? -1;
    const ranked = shuffled(targets, random).sort((a, b) => latency(a) - latency(b));
    if (ranked.length > 1 && random() < this.exploreShare) {
      const pick = 1 + Math.floor(random() * (ranked.length - 1));
      const [explored] = ranked.splice(pick, 1);
      ranked.unshift(explored as RouteTarget);
    }
    return ranked;
  }
}
