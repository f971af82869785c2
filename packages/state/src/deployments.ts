/**
 * Owns which deployments this process is configured with, and their provider kinds: the list the
 * status cache reports and the metrics reader shows first. A config reload replaces it in one
 * assignment; every deployment ever configured is also recorded in Redis (knownDeployments), so
 * the metrics of one removed from the config still show while they are kept.
 */
import type { DeploymentId, DeploymentKind, RedisClient } from '@switchyard/shared';
import type { StateKeys } from './keys.ts';
import type { StateLogger } from './logger.ts';

export interface DeploymentEntry {
  name: DeploymentId;
  kind?: DeploymentKind;
}

export class DeploymentDirectory {
  private entries: ReadonlyArray<{ id: DeploymentId; kind: string }> = [];

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: StateKeys,
    private readonly logger: StateLogger,
    initial: ReadonlyArray<DeploymentEntry>,
  ) {
    this.set(initial);
  }

  ids(): DeploymentId[] {
    return this.entries.map((e) => e.id);
  }

  kindOf(id: DeploymentId): string | undefined {
    return this.entries.find((e) => e.id === id)?.kind;
  }

  /** Replaces the list (config reload) and records the new ids fleet-wide; never throws. */
  set(deployments: ReadonlyArray<DeploymentEntry>): void {
    this.entries = deployments.map((d) => ({ id: d.name, kind: d.kind ?? d.name }));
    if (this.entries.length === 0) return;
    const fields = this.entries.flatMap((e) => [e.id, e.kind]);
    this.redis.hset(this.keys.knownDeployments(), ...fields).catch((err: Error) => {
      this.logger.warn({ err: err.message }, 'could not record the configured deployments');
    });
  }
}
