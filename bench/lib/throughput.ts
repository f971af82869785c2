/**
 * The queue-throughput measurement of B1 and B7 for both sides: ours (the shared fleet's worker
 * processes, apps/worker with the in-process mock/echo provider) and plain (bench/procs/plain-worker.ts
 * processes, a BullMQ Worker doing nothing), with identical job payloads and options (the API's).
 * Both pools grow and shrink, and are kept for the rest of the run.
 */
import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { BenchContext, Shared } from './context.ts';
import { OursFleet, WORKER_CONCURRENCY } from './fleet.ts';
import { type Proc, startBenchProc, startInBatches, stopAll } from './processes.ts';
import { benchConnection, type DrainResult, drainMeasure, echoRequest, OurJobs, plainQueue } from './queue.ts';

export type RigKind = 'ours' | 'plain';

/** A pool of plain BullMQ worker processes on a queue of its own namespace. */
export class PlainPool implements Shared {
  readonly workers: Proc[] = [];
  readonly namespace: string;
  readonly connection: Redis;
  /** Our job shape (data and options), for payload parity with ours. */
  readonly shape: OurJobs;
  readonly queue: Queue;
  private started = 0;

  private constructor(
    private readonly ctx: BenchContext,
    readonly concurrency: number,
  ) {
    this.namespace = ctx.namespace('plain');
    this.connection = benchConnection(ctx.redis.url);
    this.shape = new OurJobs(this.connection, this.namespace);
    this.queue = plainQueue(this.connection, this.namespace);
    this.queue.on('error', () => {});
  }

  static get(ctx: BenchContext, concurrency = WORKER_CONCURRENCY): PlainPool {
    const key = `plain-pool:${concurrency}`;
    let pool = ctx.shared.get(key) as PlainPool | undefined;
    if (!pool) {
      pool = new PlainPool(ctx, concurrency);
      ctx.shared.set(key, pool);
    }
    return pool;
  }

  async workersTo(n: number): Promise<Proc[]> {
    if (this.workers.length > n) await stopAll(this.workers.splice(n));
    const missing = n - this.workers.length;
    if (missing > 0) {
      const started = await startInBatches(missing, () =>
        startBenchProc(`plain-worker-${++this.started}`, 'bench/procs/plain-worker.ts', {
          REDIS_URL: this.ctx.redis.url,
          BENCH_PREFIX: this.queue.opts.prefix ?? 'bull',
          BENCH_QUEUE: this.queue.name,
          CONCURRENCY: String(this.concurrency),
        }),
      );
      this.workers.push(...started);
    }
    return this.workers;
  }

  async close(): Promise<void> {
    await stopAll(this.workers);
    await this.queue.close().catch(() => {});
    await this.shape.close().catch(() => {});
    this.connection.disconnect();
  }
}

/** Drains `jobs` echo jobs through `workers` processes of `kind`; see drainMeasure. */
export async function measureThroughput(ctx: BenchContext, kind: RigKind, workers: number, jobs: number): Promise<DrainResult> {
  const commandStats = () => (ctx.redis.source === 'private' ? ctx.redis.commandStats() : Promise.resolve(null));
  if (kind === 'ours') {
    const fleet = await OursFleet.get(ctx);
    const procs = await fleet.workersTo(workers);
    await fleet.steady();
    const batch = Array.from({ length: jobs }, (_, i) => fleet.jobs.job(echoRequest(i), randomUUID()));
    return drainMeasure({
      queue: fleet.queue,
      client: fleet.connection,
      jobs: batch,
      procs: procs.map((p) => ({ name: 'worker', pid: p.pid })),
      redisPid: ctx.redis.pid,
      commandStats,
      timeoutMs: 120_000,
    });
  }
  const pool = PlainPool.get(ctx);
  const procs = await pool.workersTo(workers);
  const batch = Array.from({ length: jobs }, (_, i) => pool.shape.job(echoRequest(i), randomUUID()));
  return drainMeasure({
    queue: pool.queue,
    client: pool.connection,
    jobs: batch,
    procs: procs.map((p) => ({ name: 'worker', pid: p.pid })),
    redisPid: ctx.redis.pid,
    commandStats,
    timeoutMs: 120_000,
  });
}

/** Starts both pools to `n` workers at once (start-ups overlap). */
export async function bothTo(ctx: BenchContext, n: number): Promise<void> {
  const fleet = await OursFleet.get(ctx);
  await Promise.all([fleet.workersTo(n), PlainPool.get(ctx).workersTo(n)]);
}
