/**
 * Owns the worker registry: each worker replica heartbeats a key of its own (PX ttl) plus its id
 * in a sorted set scored by expiry; listWorkers() scrubs expired ids and reads the live keys.
 * A replica that dies stops heartbeating and disappears on its own within the ttl.
 */
import type { RedisClient } from '@switchyard/shared';
import { z } from 'zod';
import type { StateKeys } from './keys.ts';
import { type StateLogger, ThrottledWarning } from './logger.ts';
import { parseStored } from './validate.ts';

export const workerInfoSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9._:@-]{1,128}$/, 'worker id: 1-128 letters, digits or ._:@-'),
  host: z.string().min(1).max(255),
  pid: z.number().int().positive(),
  concurrency: z.number().int().nonnegative(),
  active_jobs: z.number().int().nonnegative(),
  /** Epoch ms. */
  started_at: z.number().int().nonnegative(),
  /** Hash of the fleet config the worker runs (GET /v1/config's `hash`): replicas on another config show. */
  config_hash: z.string().max(64).optional(),
});
export type WorkerInfo = z.infer<typeof workerInfoSchema>;

const liveWorkerSchema = workerInfoSchema.extend({
  last_heartbeat_at: z.number().int().nonnegative(),
  expires_at: z.number().int().nonnegative(),
});
export type LiveWorker = z.infer<typeof liveWorkerSchema>;

export interface HeartbeatHandle {
  /** Stops heartbeating and removes the worker from the registry at once (graceful shutdown). */
  stop(): Promise<void>;
}

export class WorkerRegistry {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: StateKeys,
    private readonly clock: () => number,
    readonly ttlMs: number,
    private readonly logger: StateLogger,
  ) {}

  /** Marks the worker alive for `ttlMs` more. Both keys share the `{workers}` slot: one pipeline. */
  async heartbeat(info: WorkerInfo): Promise<void> {
    const worker = workerInfoSchema.parse(info);
    const now = this.clock();
    const record: LiveWorker = { ...worker, last_heartbeat_at: now, expires_at: now + this.ttlMs };
    const replies = await this.redis
      .pipeline()
      .set(this.keys.worker(worker.id), JSON.stringify(record), 'PX', this.ttlMs)
      .zadd(this.keys.workersLive(), record.expires_at, worker.id)
      .exec();
    const failed = replies?.find(([err]) => err);
    if (failed) throw failed[0];
  }

  async deregister(id: string): Promise<void> {
    await this.redis.pipeline().del(this.keys.worker(id)).zrem(this.keys.workersLive(), id).exec();
  }

  /** Live workers, oldest first. Expired ids are scrubbed from the set on the way. */
  async listWorkers(): Promise<LiveWorker[]> {
    const now = this.clock();
    const live = this.keys.workersLive();
    const replies = (await this.redis.pipeline().zremrangebyscore(live, '-inf', now).zrangebyscore(live, now, '+inf').exec()) ?? [];
    const ids = (replies[1]?.[1] ?? []) as string[];
    if (ids.length === 0) return [];
    const values = await this.redis.mget(...ids.map((id) => this.keys.worker(id)));
    const workers: LiveWorker[] = [];
    for (const value of values) {
      if (value === null) continue; // expired between the two reads
      let raw: unknown;
      try {
        raw = JSON.parse(value);
      } catch {
        raw = undefined;
      }
      const worker = parseStored(liveWorkerSchema, raw, this.logger, 'worker heartbeat');
      if (worker) workers.push(worker);
    }
    return workers.sort((a, b) => a.started_at - b.started_at || a.id.localeCompare(b.id));
  }

  /**
   * Heartbeats now and every `intervalMs` (default a third of the ttl) with what `info()` says at
   * that moment. A failed heartbeat is logged (throttled); the next one tries again.
   */
  startHeartbeat(info: () => WorkerInfo, intervalMs = Math.floor(this.ttlMs / 3)): HeartbeatHandle {
    const warning = new ThrottledWarning(this.logger, 'worker heartbeat failed; retrying at the next interval');
    let current: Promise<void> = Promise.resolve();
    const beat = () => {
      current = this.heartbeat(info()).catch((err: Error) => warning.warn({ err: err.message }));
    };
    beat();
    const timer = setInterval(beat, intervalMs);
    timer.unref();
    return {
      stop: async () => {
        clearInterval(timer);
        await current;
        await this.deregister(info().id).catch((err: Error) => warning.warn({ err: err.message }));
      },
    };
  }
}
