/**
 * Owns the runtime form of a fleet config: the config, its name lookups and one adapter per
 * deployment, built together and swapped as a whole on reload (FleetRuntimeHolder), so nothing
 * ever sees adapters of one config with the routes of another. The API reads it for model lists,
 * intake checks and probes; the worker's planner for every job.
 */
import { type Config, type DeploymentId, type FleetConfig, FleetConfigSource, type Logger, ModelNames } from '@switchyard/shared';
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

export interface ModelObject {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

/** OpenAI-compatible entries for the models each deployment's adapter knows, ids `<deployment>/<model>`. */
export function deploymentModels(runtime: FleetRuntime): ModelObject[] {
  const data: ModelObject[] = [];
  for (const deployment of runtime.config.deployments) {
    for (const model of runtime.adapters.get(deployment.id)?.models ?? []) {
      data.push({ id: `${deployment.id}/${model}`, object: 'model', created: 0, owned_by: deployment.provider });
    }
  }
  return data;
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

/**
 * A process's fleet config from start to stop: the config source (file, hot reload, SIGHUP) and
 * the runtime built from each accepted version. A config that parses but whose adapters cannot be
 * built is refused like an invalid file: the running one stays.
 */
export class FleetRuntimeSource extends FleetRuntimeHolder {
  private constructor(
    private readonly source: FleetConfigSource,
    private readonly options: FleetRuntimeOptions & { logger: Logger },
  ) {
    super(buildFleetRuntime(source.current, options));
  }

  /** Loads the fleet config (SWITCHYARD_CONFIG, else the implicit one); throws ConfigError naming every problem. */
  static load(config: Config, logger: Logger): FleetRuntimeSource {
    return new FleetRuntimeSource(new FleetConfigSource({ config, logger }), { defaultTimeoutMs: config.ATTEMPT_TIMEOUT_MS, logger });
  }

  /** load(), or every problem on stderr and exit 1: for process entry points. */
  static loadOrExit(config: Config, logger: Logger): FleetRuntimeSource {
    try {
      return FleetRuntimeSource.load(config, logger);
    } catch (err) {
      process.stderr.write(`${(err as Error).message}\n`);
      process.exit(1);
    }
  }

  /** For tests and embedders: an already loaded source. */
  static from(source: FleetConfigSource, options: FleetRuntimeOptions & { logger: Logger }): FleetRuntimeSource {
    return new FleetRuntimeSource(source, options);
  }

  get hash(): string {
    return this.current.config.hash;
  }

  /** Watches the file and SIGHUP; every accepted change swaps the runtime (listeners via onChange). */
  start(): void {
    this.source.onChange(({ current }) => {
      let next: FleetRuntime;
      try {
        next = buildFleetRuntime(current, this.options);
      } catch (err) {
        this.options.logger.error({ configHash: current.hash, err: (err as Error).message }, 'config.runtime.refused');
        return;
      }
      this.replace(next);
      this.options.logger.info(
        { configHash: current.hash, deployments: current.deployments.length, routes: current.routes.length },
        'config.runtime.swapped',
      );
    });
    this.source.start();
  }

  stop(): Promise<void> {
    return this.source.stop();
  }
}
