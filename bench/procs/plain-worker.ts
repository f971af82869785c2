/**
 * Baseline worker (B1, B3, B7): a plain BullMQ Worker on the same Redis, queue and job payloads as
 * ours. Its processor does nothing, or, with UPSTREAM_URL set (B3's open-loop baseline), makes the
 * job's provider call and nothing else: a POST of the job's messages to the mock provider's chat
 * completions (model UPSTREAM_MODEL) with the load generator's own lean keep-alive client, returning
 * the parsed answer. Behind bench/procs/bare-facade.ts that is a queue facade built on bare BullMQ
 * doing the same upstream call as ours, so the latency it adds over the direct call is what a queue
 * alone adds (the no-op processor would leave the upstream hop out of the baseline).
 * Env: REDIS_URL, BENCH_PREFIX, BENCH_QUEUE, CONCURRENCY, UPSTREAM_URL and UPSTREAM_MODEL (optional).
 * Prints {"ready":true} once it is taking jobs; SIGTERM closes it and exits 0.
 */
import type { QueuedJobData } from '@switchyard/shared';
import { type Job, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { envVar as env, envNumber } from '../lib/env.ts';
import { JsonClient } from '../lib/http-client.ts';

const upstreamUrl = env('UPSTREAM_URL', '');
const upstreamModel = upstreamUrl ? env('UPSTREAM_MODEL') : '';
const client = new JsonClient();
const processor = upstreamUrl
  ? async (job: Job<QueuedJobData>) =>
      JSON.parse(await client.postOk(upstreamUrl, { model: upstreamModel, messages: job.data.request.messages }))
  : async () => ({ ok: true });
const connection = new Redis(env('REDIS_URL'), { maxRetriesPerRequest: null });
const worker = new Worker(env('BENCH_QUEUE'), processor, {
  connection,
  prefix: env('BENCH_PREFIX'),
  concurrency: envNumber('CONCURRENCY', 16),
  skipVersionCheck: true,
});
worker.on('error', (err) => process.stderr.write(`plain worker error: ${err.message}\n`));
await worker.waitUntilReady();
process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`);

let closing = false;
const stop = async () => {
  if (closing) return;
  closing = true;
  await worker.close().catch(() => {});
  client.close();
  connection.disconnect();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
