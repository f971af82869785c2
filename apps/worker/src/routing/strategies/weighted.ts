/**
 * `weighted`: the first target drawn at random in proportion to `weight`, the rest drawn the same
 * way from what is left (sampling without replacement), so fallbacks also follow the weights.
 */
import type { RouteTarget } from '@switchyard/shared';
import type { RoutingStrategy, StrategyContext } from './strategy.ts';

export class WeightedStrategy implements RoutingStrategy {
  readonly name = 'weighted' as const;

  order(targets: readonly RouteTarget[], { random }: StrategyContext): RouteTarget[] {
    const left = [...targets];
    const out: RouteTarget[] = [];
    while (left.length > 0) {
      const total = left.reduce((sum, t) => sum + t.weight, 0);
      let draw = random() * total;
      let index = left.length - 1;
      for (let i = 0; i < left.length; i++) {
        draw -= (left[i] as RouteTarget).weight;
        if (draw < 0) {
          index = i;
          break;
        }
      }
      out.push(left.splice(index, 1)[0] as RouteTarget);
    }
    return out;
  }
}
