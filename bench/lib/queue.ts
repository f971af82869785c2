/**
 * Queue-side helpers: jobs built exactly as the API builds them (JobService.buildData and
 * jobOptions, from apps/api), bulk enqueueing, and the drain measurement behind B1 and B7: fill a
 * paused queue, resume it, and time until the last job finished (from the completed set's
 * finishedOn scores, so polling does not limit the resolution).
 */
import { type Config, type JobRequest, loadConfig, QUEUE_NAME, type QueuedJobData, queuePrefix } from '@switchyard/shared';
import { type JobsOptions, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { CompletionHub } from '../../apps/api/src/jobs/completion-hub.ts';
import { JobService } from '../../apps/api/src/jobs/job-service.ts';
import { cpuMsOf, sleep } from './processes.ts';
import { type CommandStats, diffStats } from './redis.ts';

export interface BulkJob {
  name: string;
  data: QueuedJobData;
  opts: JobsOptions;
}

/** Our job shape for a namespace: the API's own data and options (attempts, backoff, retention). */
export class OurJobs {
  readonly service: JobService;
  readonly config: Config;

  constructor(
    readonly connection: Redis,
    namespace: string,
    env: Record<string, string> = {},
  ) {
    this.config = loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', SWITCHYARD_NAMESPACE: namespace, MOCK_PROVIDER: 'true', ...env });
    // submitMany/buildData/jobOptions never touch the completion hub.
    this.service = new JobService(this.config, connection, undefined as unknown as CompletionHub);
  }

  get queue(): Queue {
    return this.service.queue as unknown as Queue;
  }

  /** `notify`: the worker publishes the completion message, as for the OpenAI facade's jobs (DoneWatcher). */
  job(request: JobRequest, id: string, { notify = false }: { notify?: boolean } = {}): BulkJob {
    return { name: 'llm', data: this.service.buildData(request, notify), opts: this.service.jobOptions(id, request) };
  }

  async close(): Promise<void> {
    await this.service.close();
  }
}

export function echoRequest(i: number): JobRequest {
  return { model: 'mock/echo', messages: [{ role: 'user', content: `bench job ${i}: say something short` }] };
}

/** A plain BullMQ queue for a baseline, on its own namespace's hash-tagged prefix. */
export function plainQueue(connection: Redis, namespace: string, name = 'plain'): Queue {
  return new Queue(name, { connection, prefix: queuePrefix(namespace), skipVersionCheck: true });
}

export function benchConnection(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null });
}

export async function addInChunks(queue: Queue, jobs: BulkJob[], chunk = 500): Promise<void> {
  for (let i = 0; i < jobs.length; i += chunk) await queue.addBulk(jobs.slice(i, i + chunk));
}

const UNFINISHED = ['wait', 'active', 'delayed', 'prioritized', 'waiting-children'] as const;

export async function unfinished(queue: Queue): Promise<number> {
  const counts = await queue.getJobCounts(...UNFINISHED);
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

export interface DrainResult {
  jobs: number;
  completed: number;
  failed: number;
  elapsedMs: number;
  jobsPerS: number;
  /** CPU ms per job, per process name (worker processes, redis-server). */
  cpuMsPerJob: Record<string, number>;
  /** Redis commands per job (INFO commandstats; includes the bench's own few polling commands). */
  redisCommandsPerJob: number | null;
  redisTopCommands: Record<string, number>;
}

export interface DrainOptions {
  queue: Queue;
  /** A plain connection to the queue's Redis, for reading its sets. */
  client: Redis;
  jobs: BulkJob[];
  /** Processes whose CPU is accounted (the workers). */
  procs: readonly { name: string; pid: number }[];
  redisPid: number | null;
  commandStats: () => Promise<CommandStats | null>;
  timeoutMs: number;
}

/**
 * Fills the (globally paused) queue, resumes it and waits for every job to finish. Elapsed time runs
 * from the resume to the newest finishedOn in the completed / failed sets.
 */
export async function drainMeasure(options: DrainOptions): Promise<DrainResult> {
  const { queue, jobs, client } = options;
  await queue.pause();
  await addInChunks(queue, jobs);
  await sleep(300);
  const keyOf = (set: string) => `${queue.opts.prefix}:${queue.name}:${set}`;
  const [completedBefore, failedBefore] = await Promise.all([client.zcard(keyOf('completed')), client.zcard(keyOf('failed'))]);
  const tracked = [...options.procs, ...(options.redisPid ? [{ name: 'redis-server', pid: options.redisPid }] : [])];
  const cpuBefore = tracked.map((p) => cpuMsOf(p.pid));
  const statsBefore = await options.commandStats();
  const t0 = Date.now();
  await queue.resume();
  const deadline = t0 + options.timeoutMs;
  while ((await unfinished(queue)) > 0) {
    if (Date.now() > deadline) throw new Error(`queue ${queue.name} not drained within ${options.timeoutMs} ms`);
    await sleep(50);
  }
  const statsAfter = await options.commandStats();
  const cpuMsPerJob: Record<string, number> = {};
  tracked.forEach((p, i) => {
    cpuMsPerJob[p.name] = (cpuMsPerJob[p.name] ?? 0) + Math.max(0, cpuMsOf(p.pid) - cpuBefore[i]!) / jobs.length;
  });
  const newest = async (set: string) => {
    const top = await client.zrevrange(keyOf(set), 0, 0, 'WITHSCORES');
    return top.length === 2 ? Number(top[1]) : 0;
  };
  const [lastCompleted, lastFailed, completedAfter, failedAfter] = await Promise.all([
    newest('completed'),
    newest('failed'),
    client.zcard(keyOf('completed')),
    client.zcard(keyOf('failed')),
  ]);
  const end = Math.max(lastCompleted, lastFailed);
  const elapsedMs = Math.max(1, end - t0);
  // With removeOnComplete by count the set may be trimmed: count what left the queue instead.
  const failed = failedAfter - failedBefore;
  const completed = Math.min(jobs.length - failed, Math.max(completedAfter - completedBefore, jobs.length - failed));
  let redisCommandsPerJob: number | null = null;
  let redisTopCommands: Record<string, number> = {};
  if (statsBefore && statsAfter) {
    const diff = diffStats(statsAfter, statsBefore);
    redisCommandsPerJob = diff.total / jobs.length;
    redisTopCommands = Object.fromEntries(
      Object.entries(diff.byCommand)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 8)
        .map(([name, calls]) => [name, calls / jobs.length]),
    );
  }
  return {
    jobs: jobs.length,
    completed,
    failed,
    elapsedMs,
    jobsPerS: (completed * 1000) / elapsedMs,
    cpuMsPerJob,
    redisCommandsPerJob,
    redisTopCommands,
  };
}

export { QUEUE_NAME };
