/**
 * B3's baseline facade in a process of its own: what a synchronous HTTP facade over plain
 * BullMQ looks like. `POST /v1/chat/completions` takes the JSON body as it is (no validation, auth,
 * rate limit, budget or OpenAI-shaped answer), enqueues it with our job data and options, waits with
 * `job.waitUntilFinished(queueEvents)` (BullMQ's per-job listeners on one QueueEvents stream reader)
 * and answers 200 with the job's return value. In the closed loop a plain no-op worker process runs
 * the jobs; in the open loop, on a queue of its own, bench/procs/plain-worker.ts with UPSTREAM_URL, which makes
 * the same call to the mock provider as our worker.
 * Env: REDIS_URL, BENCH_PREFIX, BENCH_QUEUE, BENCH_NAMESPACE, PORT. Prints {"ready":true} when listening.
 */
import { randomUUID } from 'node:crypto';
import type { JobRequest } from '@switchyard/shared';
import { Queue, QueueEvents } from 'bullmq';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { envVar as env } from '../lib/env.ts';
import { OurJobs } from '../lib/queue.ts';

/** Requests the load keeps in flight can each hold a listener; BullMQ warns past 10 otherwise. */
const MAX_WAITING = 1024;

const connection = new Redis(env('REDIS_URL'), { maxRetriesPerRequest: 1 });
const shape = new OurJobs(connection, env('BENCH_NAMESPACE'));
const queue = new Queue(env('BENCH_QUEUE'), { connection, prefix: env('BENCH_PREFIX'), skipVersionCheck: true });
const queueEvents = new QueueEvents(env('BENCH_QUEUE'), {
  connection: new Redis(env('REDIS_URL'), { maxRetriesPerRequest: null }),
  prefix: env('BENCH_PREFIX'),
});
queue.on('error', () => {});
queueEvents.on('error', () => {});
queue.setMaxListeners(MAX_WAITING);
queueEvents.setMaxListeners(MAX_WAITING);
await queueEvents.waitUntilReady();

const app = Fastify({ logger: false });
app.post('/v1/chat/completions', async (request) => {
  const { name, data, opts } = shape.job(request.body as JobRequest, randomUUID());
  const job = await queue.add(name, data, opts);
  return job.waitUntilFinished(queueEvents, 30_000);
});
await app.listen({ host: '127.0.0.1', port: Number(env('PORT')) });
process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`);

const stop = async () => {
  await app.close().catch(() => {});
  await queueEvents.close().catch(() => {});
  await queue.close().catch(() => {});
  await shape.close().catch(() => {});
  connection.disconnect();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
