/**
 * The fleet config file B8 runs its routed side with (SWITCHYARD_CONFIG): 20 routes over deployments
 * of the mock provider, all pointed at the run's mock server. 18 routes serve one model each on 2-3
 * of four deployments, weighted and ordered in turn, chained by fallbacks in threes (a job on the
 * head of a chain plans 6-9 candidates across three routes); two more, `fastest` (latency) and
 * `spread` (weighted), route over the same pair of deployments, one of which the mock makes slow.
 * Written as JSON, which is YAML too. Without a mock server URL (bench/tools/router-cost.ts), every
 * target serves `echo` in-process instead, so fallback chains collapse to the pool's four candidates.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROUTE_COUNT = 20;
/** The pair of deployments the latency comparison routes over, and the model each serves. */
export const FAST = { deployment: 'mock-fast', model: 'lat-fast' } as const;
export const SLOW = { deployment: 'mock-slow', model: 'lat-slow' } as const;
export const LATENCY_ROUTE = 'fastest';
export const WEIGHTED_ROUTE = 'spread';
/**
 * `spread`'s weights: the slow deployment is the larger one by weight, as weighted routes are set by
 * capacity. With equal weights half the jobs land on each, and the median sits on the edge between
 * the fast and the slow mode: a coin flip between them from one run to the next.
 */
export const SLOW_WEIGHT = 2;
export const FAST_WEIGHT = 1;

const POOL = ['mock-a', 'mock-b', 'mock-c', 'mock-d'];

/** The 20 route names, in the order jobs cycle through them. */
export function routeNames(): string[] {
  const chained = Array.from({ length: ROUTE_COUNT - 2 }, (_, i) => `chat-${String(i + 1).padStart(2, '0')}`);
  return [...chained, LATENCY_ROUTE, WEIGHTED_ROUTE];
}

export function routeFleetFile(mockUrl: string | undefined): object {
  const deployments = [...POOL, FAST.deployment, SLOW.deployment].map((id) => ({
    id,
    provider: 'mock',
    ...(mockUrl ? { base_url: mockUrl } : {}),
  }));
  const served = (model: string) => (mockUrl ? model : 'echo');
  const names = routeNames();
  const chained = names.slice(0, ROUTE_COUNT - 2).map((name, i) => {
    const width = i % 3 === 2 ? 3 : 2;
    const model = served(`m${String(i + 1).padStart(2, '0')}`);
    const weighted = i % 2 === 0;
    const targets = Array.from({ length: width }, (_, k) => ({
      deployment: POOL[(i + k) % POOL.length],
      model,
      ...(weighted ? { weight: width - k } : {}),
    }));
    // Chains of three: chat-01 -> chat-02 -> chat-03, chat-04 -> ..., the last of each without.
    const next = names[i + 1];
    const fallbacks = i % 3 !== 2 && next ? [next] : [];
    return { name, strategy: weighted ? 'weighted' : 'ordered', targets, fallbacks };
  });
  const pair = (weights: boolean) => [
    { deployment: FAST.deployment, model: served(FAST.model), ...(weights ? { weight: FAST_WEIGHT } : {}) },
    { deployment: SLOW.deployment, model: served(SLOW.model), ...(weights ? { weight: SLOW_WEIGHT } : {}) },
  ];
  const routes = [
    ...chained,
    { name: LATENCY_ROUTE, strategy: 'latency', targets: pair(false) },
    { name: WEIGHTED_ROUTE, strategy: 'weighted', targets: pair(true) },
  ];
  return { deployments, routes, default_route: names[0] };
}

/** Writes the file into a temp dir of its own; `remove` deletes both. */
export function writeRouteFleetFile(mockUrl: string | undefined): { path: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'sy-bench-fleet-'));
  const path = join(dir, 'fleet.yaml');
  writeFileSync(path, `${JSON.stringify(routeFleetFile(mockUrl), null, 2)}\n`);
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
