/**
 * B2's baseline route, shared by bench/procs/bare-intake.ts (its own process, in `pnpm bench`) and
 * bench/tools/intake-cost.ts (in-process): POST /v1/jobs takes the JSON body as it is (no
 * validation, no auth, no rate limit, no idempotency), enqueues it with the API's retry and
 * retention options, and answers 202 with the job id.
 */
import type { Queue } from 'bullmq';
import Fastify, { type FastifyInstance } from 'fastify';

export function bareIntakeApp(queue: Queue): FastifyInstance {
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
  return app;
}
