/**
 * Owns this worker's side of the fleet-wide routing figures: its calls in flight (read from the
 * router's concurrency gates, which count them exactly) and a latency average per deployment, exchanges them with every other replica through Redis about
 * once a second (RoutingLoad), and answers `load(deployment)` from memory on the hot path. Between
 * exchanges its own part is current: the fleet's count minus what it last published plus what it
 * has in flight now. A failed exchange keeps the last figures and is retried on the next tick;
 * routing never waits for Redis.
 */
import type { DeploymentId, Logger } from '@switchyard/shared';
import type { DeploymentLoad, RoutingLoad } from '@switchyard/state';

/** Weight of the newest latency sample in the moving average. */
const EWMA_ALPHA = 0.2;
/** Samples reported per deployment at most: a busy replica does not drown the others' figures. */
const MAX_SAMPLES = 100;

export class FleetLoad {
  private fleet = new Map<DeploymentId, DeploymentLoad>();
  private published = new Map<DeploymentId, number>();
  private readonly latency = new Map<DeploymentId, { ms: number; samples: number }>();
  private timer: NodeJS.Timeout | undefined;
  private exchanging: Promise<void> | undefined;

  constructor(
    private readonly store: RoutingLoad,
    private readonly workerId: string,
    private readonly logger: Logger,
    private readonly local: { inFlight(deployment: DeploymentId): number; deployments(): Iterable<DeploymentId> },
    private readonly intervalMs = 1_000,
  ) {}

  /** A call to the deployment answered: successes feed its latency average. */
  callEnded(deployment: DeploymentId, success: boolean, latencyMs: number): void {
    if (!success) return;
    const last = this.latency.get(deployment);
    this.latency.set(
      deployment,
      last
        ? { ms: last.ms + EWMA_ALPHA * (latencyMs - last.ms), samples: Math.min(MAX_SAMPLES, last.samples + 1) }
        : { ms: latencyMs, samples: 1 },
    );
  }

  load(deployment: DeploymentId): DeploymentLoad | undefined {
    const fleet = this.fleet.get(deployment);
    const mine = this.local.inFlight(deployment);
    const local = this.latency.get(deployment);
    if (!fleet && mine === 0 && !local) return undefined;
    const inFlight = Math.max(0, (fleet?.inFlight ?? 0) - (this.published.get(deployment) ?? 0)) + mine;
    // The fleet's figure once an exchange has one; this replica's own until then.
    const latencyMs = fleet?.latencyMs ?? local?.ms ?? null;
    return { inFlight, latencyMs, samples: fleet?.samples ?? local?.samples ?? 0 };
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.exchange(), this.intervalMs);
    this.timer.unref();
  }

  /** One exchange with the fleet now (also what the timer runs); never rejects. */
  exchange(): Promise<void> {
    this.exchanging ??= this.runExchange().finally(() => {
      this.exchanging = undefined;
    });
    return this.exchanging;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.exchanging;
    await this.store.forget(this.workerId).catch(() => {});
  }

  private async runExchange(): Promise<void> {
    const mine = new Map<DeploymentId, DeploymentLoad>();
    const ids = new Set([...this.local.deployments(), ...this.latency.keys()]);
    for (const id of ids) {
      const latency = this.latency.get(id);
      mine.set(id, { inFlight: this.local.inFlight(id), latencyMs: latency?.ms ?? null, samples: latency?.samples ?? 0 });
    }
    try {
      const fleet = await this.store.exchange(this.workerId, mine);
      this.published = new Map([...mine].map(([id, load]) => [id, load.inFlight]));
      this.fleet = fleet;
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'routing.load.exchange_failed');
    }
  }
}
