/** The strategies by name: adding one is one file and one line here. */
import type { RouteStrategy } from '@switchyard/shared';
import { LatencyStrategy } from './latency.ts';
import { LeastBusyStrategy } from './least-busy.ts';
import { OrderedStrategy } from './ordered.ts';
import type { RoutingStrategy } from './strategy.ts';
import { WeightedStrategy } from './weighted.ts';

export type { RoutingStrategy, StrategyContext } from './strategy.ts';

export function createStrategies(): Readonly<Record<RouteStrategy, RoutingStrategy>> {
  return {
    ordered: new OrderedStrategy(),
    weighted: new WeightedStrategy(),
    'least-busy': new LeastBusyStrategy(),
    latency: new LatencyStrategy(),
  };
}
