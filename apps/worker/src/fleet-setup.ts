/**
 * Owns what a worker adds to the fleet runtime (FleetRuntimeSource): the planner that routes jobs
 * over the current config, each deployment's in-flight cap, the router bound to both and to the
 * fleet-wide routing figures, and keeping the state store's list of deployments in step with
 * reloads. Jobs already planned keep their candidates across a reload.
 */
import type { FleetRuntimeSource } from '@switchyard/providers';
import type { Config, DeploymentId, FleetConfig, Logger } from '@switchyard/shared';
import { type DeploymentEntry, type DeploymentLoad, RoutingLoad, type StateStore } from '@switchyard/state';
import { Router } from './router/index.ts';
import { FleetLoad } from './routing/fleet-load.ts';
import { CandidatePlanner } from './routing/planner.ts';
import { createStrategies } from './routing/strategies/index.ts';

export function deploymentEntries(config: FleetConfig): DeploymentEntry[] {
  return config.deployments.map((d) => ({ name: d.id, kind: d.provider }));
}

/** The state store's deployment list follows every accepted reload. */
export function followDeployments(fleet: FleetRuntimeSource, state: StateStore): void {
  fleet.onChange((next) => state.deployments.set(deploymentEntries(next.config)));
}

/** The in-flight cap of a deployment in this process: its max_concurrency, else PROVIDER_CONCURRENCY for its kind. */
export function concurrencyLimit(fleet: FleetRuntimeSource, config: Config): (deployment: DeploymentId) => number {
  const byKind = config.PROVIDER_CONCURRENCY as Readonly<Record<string, number | undefined>>;
  return (deployment) => {
    const d = fleet.current.names.deployment(deployment);
    return d?.maxConcurrency ?? byKind[d?.provider ?? deployment] ?? config.PROVIDER_CONCURRENCY_DEFAULT;
  };
}

export function createPlanner(fleet: FleetRuntimeSource, load: (deployment: DeploymentId) => DeploymentLoad | undefined): CandidatePlanner {
  return new CandidatePlanner(() => fleet.current, createStrategies(), { load, random: Math.random });
}

/** How long another replica's routing figures count after its last exchange. */
const ROUTING_LOAD_STALE_MS = 5_000;

/**
 * The worker's router over the fleet runtime, and the fleet-wide routing figures (FleetLoad) its
 * planner reads and its calls feed. The caller starts and stops `load`.
 */
export function createFleetRouter(deps: {
  fleet: FleetRuntimeSource;
  state: StateStore;
  commands: ConstructorParameters<typeof RoutingLoad>[0];
  config: Config;
  logger: Logger;
  workerId: string;
}): { router: Router; load: FleetLoad } {
  // The planner reads the fleet's load, which reads the router's gates: bound once both exist.
  let load: FleetLoad | undefined;
  const router = new Router({
    planner: createPlanner(deps.fleet, (deployment) => load?.load(deployment)),
    concurrencyLimit: concurrencyLimit(deps.fleet, deps.config),
    fleet: deps.state.fleet,
    config: deps.config,
    logger: deps.logger,
  });
  const fleetLoad = new FleetLoad(
    new RoutingLoad(deps.commands, deps.state.keys, ROUTING_LOAD_STALE_MS),
    deps.workerId,
    deps.logger,
    router.inFlight,
  );
  load = fleetLoad;
  router.onCallEnd(({ attempt }) => {
    if (attempt.deployment) fleetLoad.callEnded(attempt.deployment, attempt.outcome === 'success', attempt.latency_ms);
  });
  return { router, load: fleetLoad };
}
