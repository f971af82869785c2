/**
 * `least-busy`: fewest calls in flight across the fleet first (every worker's figures, see
 * FleetLoad); ties, including "no figures yet", are broken at random so they share traffic.
 */
import type { RouteTarget } from '@switchyard/shared';
import { type RoutingStrategy, type StrategyContext, shuffled } from './strategy.ts';

export class LeastBusyStrategy implements RoutingStrategy {
  readonly name = 'least-busy' as const;

  order(targets: readonly RouteTarget[], { load, random }: StrategyContext): RouteTarget[] {
    const busy = (t: RouteTarget) => load(t.deployment)?.inFlight ?? 0;
    return shuffled(targets, random).sort((a, b) => busy(a) - busy(b));
  }
}
