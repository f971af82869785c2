/**
 * Owns what a worker adds to the fleet runtime (FleetRuntimeSource): the planner that routes jobs
 * over the current config, each deployment's in-flight cap, and keeping the state store's list of
 * deployments in step with reloads. Jobs already planned keep their candidates across a reload.
 */
import type { FleetRuntimeSource } from '@switchyard/providers';
import type { Config, DeploymentId, FleetConfig } from '@switchyard/shared';
import type { DeploymentEntry, DeploymentLoad, StateStore } from '@switchyard/state';
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
