/**
 * Owns the fleet-wide figures the `least-busy` and `latency` route strategies read: each worker
 * replica writes, about once a second, one field of a shared hash with its calls in flight and
 * its recent latency per deployment, and reads every replica's fields back in the same round
 * trip. A replica that stops writing drops out once its field is older than `staleMs`, and is
 * deleted later still, so a crashed worker's figures never steer traffic for long.
 */
import { type DeploymentId, isDeploymentId, type RedisClient } from '@switchyard/shared';
import { z } from 'zod';
import type { StateKeys } from './keys.ts';

/** Per deployment: calls in flight now, recent mean latency (ms) of successes and how many it is over. */
export interface DeploymentLoad {
  inFlight: number;
  latencyMs: number | null;
  samples: number;
}

const fieldSchema = z.object({
  at: z.number(),
  d: z.record(z.string(), z.tuple([z.number().nonnegative(), z.number().nonnegative().nullable(), z.number().nonnegative()])),
});

export class RoutingLoad {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: StateKeys,
    private readonly staleMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * Writes this worker's figures and returns the fleet's, this worker's included, summed over the
   * live replicas (latency: the mean weighted by samples). One round trip.
   */
  async exchange(workerId: string, mine: ReadonlyMap<DeploymentId, DeploymentLoad>): Promise<Map<DeploymentId, DeploymentLoad>> {
    const now = this.clock();
    const d: Record<string, [number, number | null, number]> = {};
    for (const [id, load] of mine) d[id] = [load.inFlight, load.latencyMs, load.samples];
    const key = this.keys.routingLoad();
    const replies = await this.redis
      .pipeline()
      .hset(key, workerId, JSON.stringify({ at: now, d }))
      .hgetall(key)
      .exec();
    const [, all] = replies?.[1] ?? [];
    const fleet = new Map<DeploymentId, { inFlight: number; latencyWeighted: number; samples: number }>();
    const dead: string[] = [];
    for (const [worker, raw] of Object.entries((all ?? {}) as Record<string, string>)) {
      const parsed = safeParse(raw);
      if (!parsed || now - parsed.at > this.staleMs * 20) {
        dead.push(worker);
        continue;
      }
      if (now - parsed.at > this.staleMs) continue;
      for (const [id, [inFlight, latencyMs, samples]] of Object.entries(parsed.d)) {
        if (!isDeploymentId(id)) continue;
        const sum = fleet.get(id) ?? { inFlight: 0, latencyWeighted: 0, samples: 0 };
        sum.inFlight += inFlight;
        if (latencyMs !== null && samples > 0) {
          sum.latencyWeighted += latencyMs * samples;
          sum.samples += samples;
        }
        fleet.set(id, sum);
      }
    }
    if (dead.length > 0) await this.redis.hdel(key, ...dead);
    const out = new Map<DeploymentId, DeploymentLoad>();
    for (const [id, s] of fleet)
      out.set(id, { inFlight: s.inFlight, latencyMs: s.samples > 0 ? s.latencyWeighted / s.samples : null, samples: s.samples });
    return out;
  }

  /** Removes this worker's figures at once (graceful shutdown). */
  async forget(workerId: string): Promise<void> {
    await this.redis.hdel(this.keys.routingLoad(), workerId);
  }
}

function safeParse(raw: string): z.infer<typeof fieldSchema> | undefined {
  try {
    const parsed = fieldSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
