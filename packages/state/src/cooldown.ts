/**
 * Owns fleet-wide 429 cooldowns: a rate-limited call makes every process skip the provider until
 * its retry-after has passed (admit() answers `cooldown` with `retryAtMs`). The key holds the
 * end time and expires at that moment, so an ended cooldown leaves nothing behind.
 */
import type { DeploymentId, RedisClient } from '@switchyard/shared';
import type { ChainableCommander } from 'ioredis';
import type { StateKeys } from './keys.ts';
import type { ScriptRunner } from './scripts.ts';

export class RateLimitCooldown {
  constructor(
    private readonly redis: RedisClient,
    private readonly runner: ScriptRunner,
    private readonly keys: StateKeys,
    private readonly channel: string,
    /** Used when the 429 named no retry-after. */
    readonly defaultMs: number,
    /** Longest cooldown honoured: a provider's "retry after a day" must not silence it for a day. */
    readonly maxMs: number,
  ) {}

  /** The cooldown length for a 429 that asked for `retryAfterMs` (maybe nothing). */
  lengthFor(retryAfterMs: number | undefined): number {
    const asked = retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs > 0 ? retryAfterMs : this.defaultMs;
    return Math.min(Math.ceil(asked), this.maxMs);
  }

  /** Queues start-or-extend on the report pipeline. */
  queueStart(pipeline: ChainableCommander, provider: DeploymentId, now: number, retryAfterMs: number | undefined): void {
    const until = now + this.lengthFor(retryAfterMs);
    this.runner.queue(pipeline, 'cooldown-extend', [this.keys.provider(provider).cooldown], [now, until, this.channel, provider]);
  }

  /** Parses a GET reply: the end in epoch ms while it is still ahead of `now`, else null. */
  parse(raw: string | null, now: number): number | null {
    const until = raw === null ? Number.NaN : Number(raw);
    return Number.isFinite(until) && until > now ? until : null;
  }

  async read(provider: DeploymentId, now: number): Promise<number | null> {
    return this.parse(await this.redis.get(this.keys.provider(provider).cooldown), now);
  }
}
