/**
 * Baseline worker (B1, B3, B7): a plain BullMQ Worker whose processor does nothing, on the same
 * Redis, queue and job payloads as ours. Env: REDIS_URL, BENCH_PREFIX, BENCH_QUEUE, CONCURRENCY.
 * Prints {"ready":true} once it is taking jobs; SIGTERM closes it and exits 0.
 */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { envVar as env, envNumber } from '../lib/env.ts';

const connection = new Redis(env('REDIS_URL'), { maxRetriesPerRequest: null });
const worker = new Worker(env('BENCH_QUEUE'), async () => ({ ok: true }), {
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
  connection.disconnect();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
