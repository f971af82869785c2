/**
 * Owns the per-provider in-flight caps of one process: a FIFO semaphore per provider. Waiting for a
 * slot is abortable (the call's signal, itself bounded by the job's budget), so a saturated
 * provider can delay a job but never keep it past its budget.
 */
import type { AbortSignalLike, DeploymentId } from '@switchyard/shared';
import { type Event, EventEmitter } from './events.ts';

/** Gives the slot back; calling it more than once is harmless. */
export type Release = () => void;

interface Waiter {
  grant: (release: Release) => void;
}

export class ConcurrencyGate {
  private active = 0;
  private readonly queue: Waiter[] = [];
  private readonly queued = new EventEmitter<{ inFlight: number; waiting: number }>();
  /** Fires when a caller has to wait because every slot is taken. */
  readonly onQueued: Event<{ inFlight: number; waiting: number }> = this.queued.event;

  constructor(readonly limit: number) {}

  get inFlight(): number {
    return this.active;
  }

  get waiting(): number {
    return this.queue.length;
  }

  /** A release when a slot is free right now and nobody waits for one, else undefined. */
  tryAcquire(): Release | undefined {
    if (this.active >= this.limit || this.queue.length > 0) return undefined;
    this.active++;
    return this.releaser();
  }

  /** Resolves with a release once a slot is free; rejects with the signal's reason if it aborts first. */
  acquire(signal: AbortSignalLike): Promise<Release> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const free = this.tryAcquire();
    if (free) return Promise.resolve(free);
    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = {
        grant: (release) => {
          signal.removeEventListener('abort', onAbort);
          resolve(release);
        },
      };
      const onAbort = () => {
        const at = this.queue.indexOf(waiter);
        if (at !== -1) this.queue.splice(at, 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
      this.queued.emit({ inFlight: this.active, waiting: this.queue.length });
    });
  }

  private releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.queue.shift();
      // The slot passes straight to the next waiter, so `active` stays the same.
      if (next) next.grant(this.releaser());
      else this.active--;
    };
  }
}

/** One gate per provider, created on first use with the provider's configured limit. */
export class ProviderGates {
  private readonly gates = new Map<DeploymentId, ConcurrencyGate>();

  constructor(private readonly limitFor: (provider: DeploymentId) => number) {}

  get(provider: DeploymentId): ConcurrencyGate {
    let gate = this.gates.get(provider);
    if (!gate) {
      gate = new ConcurrencyGate(Math.max(1, this.limitFor(provider)));
      this.gates.set(provider, gate);
    }
    return gate;
  }

  /** Calls in flight to the deployment in this process (0 when it has no gate yet). */
  inFlight(deployment: DeploymentId): number {
    return this.gates.get(deployment)?.inFlight ?? 0;
  }

  deployments(): Iterable<DeploymentId> {
    return this.gates.keys();
  }

  snapshot(): Record<string, { limit: number; inFlight: number; waiting: number }> {
    const out: Record<string, { limit: number; inFlight: number; waiting: number }> = {};
    for (const [provider, gate] of this.gates) out[provider] = { limit: gate.limit, inFlight: gate.inFlight, waiting: gate.waiting };
    return out;
  }
}
