/**
 * Baseline API for B2: a bare Fastify route that only enqueues to BullMQ. POST /v1/jobs takes the
 * JSON body as it is (no validation, no auth, no rate limit, no idempotency) and answers 202 with
 * the job id. Same Redis and queue options as ours. Env: REDIS_URL, BENCH_PREFIX, BENCH_QUEUE,
 * PORT. Prints {"ready":true} when listening.
 */
import { Queue } from 'bullmq';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { envVar as env } from '../lib/env.ts';

const connection = new Redis(env('REDIS_URL'), { maxRetriesPerRequest: 1 });
const queue = new Queue(env('BENCH_QUEUE'), { connection, prefix: env('BENCH_PREFIX'), skipVersionCheck: true });
queue.on('error', () => {});
const app = Fastify({ logger: false });
app.post('/v1/jobs', async (request, reply) => {
  const job = await queue.add('llm', request.body as object, {
    attempts: 3,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: { age: 3600, count: 10_000 },
    removeOnFail: { age: 86_400 },
  });
  return reply.code(202).send({ id: job.id, status: 'queued' });
});
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
