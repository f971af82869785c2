/**
 * Baseline API for B2 in a process of its own: a bare Fastify route that only enqueues to BullMQ
 * (bench/lib/bare-intake.ts). Same Redis and queue options as ours. Env: REDIS_URL, BENCH_PREFIX,
 * BENCH_QUEUE, PORT. Prints {"ready":true} when listening.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { bareIntakeApp } from '../lib/bare-intake.ts';
import { envVar as env } from '../lib/env.ts';

const connection = new Redis(env('REDIS_URL'), { maxRetriesPerRequest: 1 });
const queue = new Queue(env('BENCH_QUEUE'), { connection, prefix: env('BENCH_PREFIX'), skipVersionCheck: true });
queue.on('error', () => {});
const app = bareIntakeApp(queue);
await app.listen({ host: '127.0.0.1', port: Number(env('PORT')) });
process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`);

const stop = async () => {
  await app.close().catch(() => {});
  await queue.close().catch(() => {});
  connection.disconnect();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
