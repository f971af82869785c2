/**
 * Owns the runtime form of a fleet config: the config, its name lookups and one adapter per
 * deployment, built together and swapped as a whole on reload (FleetRuntimeHolder), so nothing
 * ever sees adapters of one config with the routes of another. The API reads it for model lists,
 * intake checks and probes; the worker's planner for every job.
 */
import { type DeploymentId, type FleetConfig, type Logger, ModelNames } from '@switchyard/shared';
import { createDeploymentAdapter } from './registry.ts';
import type { ProviderAdapter } from './types.ts';

export interface FleetRuntime {
  readonly config: FleetConfig;
  readonly names: ModelNames;
  readonly adapters: ReadonlyMap<DeploymentId, ProviderAdapter>;
}

export interface FleetRuntimeOptions {
  defaultTimeoutMs: number;
  logger?: Logger;
}

export function buildFleetRuntime(config: FleetConfig, options: FleetRuntimeOptions): FleetRuntime {
  const adapters = new Map<DeploymentId, ProviderAdapter>();
  const context = { defaultTimeoutMs: options.defaultTimeoutMs, logger: options.logger?.child({ component: 'providers' }) };
  for (const deployment of config.deployments) adapters.set(deployment.id, createDeploymentAdapter(deployment, context));
  return { config, names: new ModelNames(config), adapters };
}

/** The running runtime of one process: `current` is replaced in one assignment; listeners hear of it. */
export class FleetRuntimeHolder {
  private listeners: Array<(next: FleetRuntime, previous: FleetRuntime) => void> = [];

  constructor(private runtime: FleetRuntime) {}

  get current(): FleetRuntime {
    return this.runtime;
  }

  replace(next: FleetRuntime): void {
    const previous = this.runtime;
    this.runtime = next;
    for (const listener of this.listeners) listener(next, previous);
  }

  onChange(listener: (next: FleetRuntime, previous: FleetRuntime) => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }
}
