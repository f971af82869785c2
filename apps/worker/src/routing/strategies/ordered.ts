/** `ordered`: the targets as the route lists them; the first that may take traffic is called. */
import type { RouteTarget } from '@switchyard/shared';
import type { RoutingStrategy } from './strategy.ts';

export class OrderedStrategy implements RoutingStrategy {
  readonly name = 'ordered' as const;

  order(targets: readonly RouteTarget[]): RouteTarget[] {
    return [...targets];
  }
}
