/**
 * Owns the provider status cache of DESIGN.md section 3. A provider's state record is the cache;
 * its age decides: fresh -> served as is; stale -> served at once plus one background refresh;
 * expired, missing or forced -> refreshed now. A refresh is single-flight twice over: one per
 * process (a promise map) and one per fleet (a `SET NX PX` lock: the holder probes, the others
 * poll briefly for its result, then serve what is cached). An open or half-open circuit is never
 * probed. The probe itself is injected: one attempt, one deadline, no retries.
 */
import { randomUUID } from 'node:crypto';
import type { DeploymentId, ErrorClass, ProviderState, RedisClient } from '@switchyard/shared';
import type { CircuitBreaker, CircuitSnapshot } from './circuit-breaker.ts';
import type { RateLimitCooldown } from './cooldown.ts';
import type { CircuitState } from './events.ts';
import type { StateKeys } from './keys.ts';
import type { StateLogger } from './logger.ts';
import type { Credits, LastError, ProviderRecord, ProviderStateRecords } from './provider-state.ts';
import type { ScriptRunner } from './scripts.ts';

/** Structurally the providers package's ProbeResult, so `adapter.probe` fits without a dependency. */
export interface ProbeOutcome {
  state: ProviderState;
  latencyMs: number;
  error?: { class: ErrorClass; message: string };
  credits?: Credits;
}

export type ProbeFn = (provider: DeploymentId, options: { signal: AbortSignal; timeoutMs: number }) => Promise<ProbeOutcome>;

export interface ProviderStatus {
  /** The deployment id (the health key). */
  deployment: DeploymentId;
  /** Its provider kind; for an implicit deployment, also its id. */
  provider: string;
  state: ProviderState;
  circuit: { state: CircuitState; consecutive_failures: number; opened_at: number | null; next_probe_at: number | null };
  last_error: LastError | null;
  /** Epoch ms of the last report or probe that confirmed `state`; null when never checked. */
  checked_at: number | null;
  /** True when served from what Redis already held, without waiting for a refresh. */
  cache_hit: boolean;
  credits?: Credits;
  /** Extra: epoch ms until which a 429 cooldown holds, else null. */
  cooldown_until: number | null;
}

export interface StatusCacheOptions {
  freshMs: number;
  staleMs: number;
  probeTimeoutMs: number;
  refreshWaitMs: number;
  clock: () => number;
  /** How often a process waiting for another's refresh looks again. Default 25 ms. */
  pollMs?: number;
  /**
   * A cache-hit answer is reused by this process for this long (capped by freshMs), and concurrent
   * readers share one read: a status page polled by thousands costs Redis a few reads a second. 0: off.
   */
  memoMs?: number;
}

interface Snapshot {
  record: ProviderRecord | null;
  circuit: CircuitSnapshot;
  cooldownUntil: number | null;
}

type Satisfied = (record: ProviderRecord | null) => boolean;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class StatusCache {
  private readonly inflight = new Map<string, Promise<Snapshot | null>>();
  private readonly background = new Set<Promise<unknown>>();
  private memo: { at: number; statuses: Promise<ProviderStatus[]> } | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly runner: ScriptRunner,
    private readonly keys: StateKeys,
    private readonly parts: { records: ProviderStateRecords; breaker: CircuitBreaker; cooldown: RateLimitCooldown },
    private readonly directory: { ids(): DeploymentId[]; kindOf(id: DeploymentId): string | undefined },
    private readonly prober: ProbeFn | undefined,
    private readonly options: StatusCacheOptions,
    private readonly logger: StateLogger,
  ) {}

  /**
   * Status of every enabled provider, in configuration order. `memo: false` reads Redis whatever
   * this process answered a moment ago (the dashboard, which has just been told of a change).
   */
  getStatus(options: { forceRefresh?: boolean; memo?: boolean } = {}): Promise<ProviderStatus[]> {
    const memoMs = Math.min(this.options.memoMs ?? 0, this.options.freshMs);
    if (options.forceRefresh || memoMs <= 0 || options.memo === false) {
      if (options.forceRefresh) this.memo = undefined;
      const forceRefresh = options.forceRefresh === true;
      return Promise.all(this.directory.ids().map((p) => this.getProviderStatus(p, { forceRefresh })));
    }
    const now = this.options.clock();
    if (this.memo && now - this.memo.at < memoMs) return this.memo.statuses;
    const statuses = Promise.all(this.directory.ids().map((p) => this.getProviderStatus(p)));
    const memo = { at: now, statuses };
    this.memo = memo;
    // Readers that joined while it ran waited for it like its first reader; later ones get only
    // what was a cache hit anyway, never a refresh's result passed off as one.
    const forget = () => {
      if (this.memo === memo) this.memo = undefined;
    };
    statuses.then((list) => {
      if (!list.every((s) => s.cache_hit)) forget();
    }, forget);
    return statuses;
  }

  async getProviderStatus(provider: DeploymentId, { forceRefresh = false }: { forceRefresh?: boolean } = {}): Promise<ProviderStatus> {
    const started = this.options.clock();
    const cached = await this.snapshot(provider);
    if (!this.prober || cached.circuit.state !== 'closed') return this.view(provider, cached, true);
    const age = cached.record ? started - cached.record.checked_at : Number.POSITIVE_INFINITY;
    if (!forceRefresh && age < this.options.freshMs) return this.view(provider, cached, true);
    if (!forceRefresh && age < this.options.staleMs) {
      this.refreshInBackground(provider);
      return this.view(provider, cached, true);
    }
    const refreshed = await this.refresh(provider, forceRefresh, forceRefresh ? this.probedSince(started) : this.freshNow());
    return refreshed ? this.view(provider, refreshed, false) : this.view(provider, cached, true);
  }

  /** Resolves when every background refresh started so far has ended (for shutdown and tests). */
  async drain(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  private freshNow(): Satisfied {
    return (record) => record !== null && this.options.clock() - record.checked_at < this.options.freshMs;
  }

  private probedSince(ms: number): Satisfied {
    return (record) => record !== null && record.probed_at !== null && record.probed_at >= ms;
  }

  private refreshInBackground(provider: DeploymentId): void {
    if (this.inflight.has(provider)) return;
    const task = this.refresh(provider, false, this.freshNow()).catch((err: Error) =>
      this.logger.warn({ provider, err: err.message }, 'background status refresh failed'),
    );
    this.background.add(task);
    task.finally(() => this.background.delete(task));
  }

  /** In-process single flight: concurrent callers share one fleet-wide attempt (forced ones apart). */
  private refresh(provider: DeploymentId, forced: boolean, satisfied: Satisfied): Promise<Snapshot | null> {
    const key = forced ? `${provider}:force` : provider;
    const existing = this.inflight.get(key);
    if (existing) return existing;
    const attempt = this.refreshFleetWide(provider, satisfied)
      .catch((err: Error) => {
        this.logger.warn({ provider, err: err.message }, 'status refresh failed; serving the cache');
        return null;
      })
      .finally(() => {
        this.inflight.delete(key);
        this.memo = undefined; // what this process just learned must not wait out the memo
      });
    this.inflight.set(key, attempt);
    return attempt;
  }

  /**
   * Fleet-wide single flight. Take the lock and probe, or watch for the holder's result; if the
   * holder ends without giving us what we need (it found the cache fresh enough for itself, or
   * died), try for the lock again, until `refreshWaitMs` is spent: then null (serve the cache).
   */
  private async refreshFleetWide(provider: DeploymentId, satisfied: Satisfied): Promise<Snapshot | null> {
    const lockKey = this.keys.provider(provider).refreshLock;
    const token = randomUUID();
    const lockMs = this.options.probeTimeoutMs + 1_000;
    const deadline = Date.now() + this.options.refreshWaitMs;
    for (;;) {
      if ((await this.redis.set(lockKey, token, 'PX', lockMs, 'NX')) === 'OK') {
        try {
          return await this.probeAsHolder(provider, satisfied);
        } finally {
          await this.runner.run('lock-release', [lockKey], [token]).catch((err: Error) => {
            this.logger.warn({ provider, err: err.message }, 'status refresh lock not released; it expires on its own');
          });
        }
      }
      const current = await this.snapshot(provider);
      if (satisfied(current.record)) return current;
      if (Date.now() >= deadline) return null;
      await sleep(this.options.pollMs ?? 25);
    }
  }

  private async probeAsHolder(provider: DeploymentId, satisfied: Satisfied): Promise<Snapshot> {
    // Double check under the lock: a holder that finished just before us already did the work.
    const current = await this.snapshot(provider);
    if (satisfied(current.record) || current.circuit.state !== 'closed') return current;
    const outcome = await this.probe(provider);
    if (outcome) {
      await this.parts.records.writeProbe(provider, this.options.clock(), {
        state: outcome.state,
        ...(outcome.error ? { errorClass: outcome.error.class, message: outcome.error.message } : {}),
        ...(outcome.credits ? { credits: outcome.credits } : {}),
        latencyMs: outcome.latencyMs,
      });
    }
    return this.snapshot(provider);
  }

  /** One attempt with a hard deadline, even if the injected prober ignores its signal. */
  private async probe(provider: DeploymentId): Promise<ProbeOutcome | null> {
    const prober = this.prober;
    if (!prober) return null;
    const timeoutMs = this.options.probeTimeoutMs;
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const started = Date.now();
    const deadline = new Promise<ProbeOutcome>((resolve) => {
      timer = setTimeout(() => {
        controller.abort();
        resolve({
          state: 'timeout',
          latencyMs: Date.now() - started,
          error: { class: 'timeout', message: `probe exceeded ${timeoutMs} ms` },
        });
      }, timeoutMs + 100);
    });
    try {
      return await Promise.race([prober(provider, { signal: controller.signal, timeoutMs }), deadline]);
    } catch (err) {
      // The probe contract says it never rejects; one that does tells us nothing about the provider.
      this.logger.error({ provider, err: (err as Error).message }, 'status probe threw; nothing recorded');
      return null;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Record, circuit and cooldown of one provider: one pipeline, one slot. */
  private async snapshot(provider: DeploymentId): Promise<Snapshot> {
    const k = this.keys.provider(provider);
    const replies = (await this.redis.pipeline().hgetall(k.state).hgetall(k.circuit).get(k.cooldown).exec()) ?? [];
    const [state, circuit, cooldown] = replies.map(([err, value]) => {
      if (err) throw err;
      return value;
    });
    return {
      record: this.parts.records.parse(provider, (state ?? {}) as Record<string, string>),
      circuit: this.parts.breaker.parse(provider, (circuit ?? {}) as Record<string, string>),
      cooldownUntil: this.parts.cooldown.parse((cooldown ?? null) as string | null, this.options.clock()),
    };
  }

  private view(provider: DeploymentId, snap: Snapshot, cacheHit: boolean): ProviderStatus {
    const { record, circuit } = snap;
    return {
      deployment: provider,
      provider: this.directory.kindOf(provider) ?? provider,
      state: record?.state ?? 'unknown',
      circuit: {
        state: circuit.state,
        consecutive_failures: circuit.consecutive_failures,
        opened_at: circuit.opened_at,
        next_probe_at: circuit.next_probe_at,
      },
      last_error: record?.last_error ?? null,
      checked_at: record?.checked_at ?? null,
      cache_hit: cacheHit,
      ...(record?.credits ? { credits: record.credits } : {}),
      cooldown_until: snap.cooldownUntil,
    };
  }
}
