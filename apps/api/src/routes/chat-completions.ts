/**
 * Owns POST /v1/chat/completions, the OpenAI-compatible facade: the request becomes an ordinary
 * queued job; the answer is OpenAI's chat.completion object, or its SSE chunks with stream: true.
 * The completion waiter is registered before the job is added, so no read is needed to catch it.
 */
import { type Config, type JobRequest, LightAbortController } from '@switchyard/shared';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { cancelJob } from '../jobs/job-cancel.ts';
import { isFinal, viewToDone } from '../jobs/job-service.ts';
import { jobErrorToOpenAi, OpenAiError } from '../openai/errors.ts';
import { chatCompletionRequestSchema, translateRequest } from '../openai/request.ts';
import { chatCompletion, chatCompletionSchema } from '../openai/response.ts';
import { retryAfterSeconds } from '../openai/retry-after.ts';
import { streamCompletion } from '../openai/stream.ts';
import { errorSchema, idempotencyHeaders, OUTCOME_UNKNOWN_DOC } from './schemas.ts';

/**
 * How long a request waits for its job: its one budget (queue-level retries and their backoff
 * spend the same budget: apps/worker/src/job-worker.ts), plus slack for waiting in the queue.
 */
export function waitBudgetMs(job: JobRequest, config: Config): number {
  return Math.min(900_000, (job.budget_ms ?? config.JOB_BUDGET_MS) + 60_000);
}

export default async function chatCompletionRoutes(app: FastifyInstance) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { config } = app.ctx;

  r.post(
    '/v1/chat/completions',
    {
      schema: {
        summary: 'OpenAI-compatible chat completion (through the queue); stream: true for SSE chunks',
        description: `The job's id is in the x-switchyard-job-id header. ${OUTCOME_UNKNOWN_DOC}`,
        tags: ['openai'],
        body: chatCompletionRequestSchema,
        headers: idempotencyHeaders,
        response: { 200: chatCompletionSchema, 400: errorSchema, 404: errorSchema },
      },
    },
    async (request, reply) => {
      const { jobs, redis } = app.ctx;
      const translated = translateRequest(request.body, config);
      const idempotencyKey = request.headers['idempotency-key'];
      const id = jobs.jobId({ clientId: request.clientId, ...(idempotencyKey ? { idempotencyKey } : {}) });
      const created = Math.floor(Date.now() / 1000);
      const deadlineAt = Date.now() + waitBudgetMs(translated.job, config);
      reply.header('x-switchyard-job-id', id);

      if (translated.stream) {
        await streamCompletion(app, reply, {
          jobId: id,
          job: translated.job,
          model: translated.model,
          includeUsage: translated.includeUsage,
          created,
          clientId: request.clientId,
          viewer: request.viewer,
          deadlineAt,
          ...(idempotencyKey ? { idempotencyKey } : {}),
        });
        return reply;
      }

      const closed = new LightAbortController();
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) closed.abort();
      });
      let waiter = jobs.waiter(id, deadlineAt, closed.signal);
      let done: Awaited<ReturnType<typeof jobs.awaitFinal>>;
      try {
        const submitted = await jobs.submit(translated.job, {
          id,
          clientId: request.clientId,
          viewer: request.viewer,
          notify: true,
          ...(idempotencyKey ? { idempotencyKey } : {}),
        });
        const existing = submitted.existing ? await jobs.view(id) : null;
        if (existing && isFinal(existing.status)) done = viewToDone(existing);
        else {
          // Found by its key: submitted earlier, maybe without notify, so this wait announces itself.
          if (existing) waiter = await jobs.announcedWaiter(waiter, id, deadlineAt, closed.signal);
          done = await jobs.awaitFinal(id, waiter, deadlineAt, closed.signal);
        }
      } finally {
        waiter.cancel();
      }
      if (!done) {
        const deps = { jobs, redis, namespace: config.SWITCHYARD_NAMESPACE, markTtlS: config.FAILED_TTL_S };
        cancelJob(deps, request.viewer, id, 0).catch(() => {});
        if (closed.signal.aborted) {
          reply.hijack(); // the client hung up: nobody is left to answer
          reply.raw.destroy();
          return reply;
        }
        throw new OpenAiError(504, 'timeout_error', 'The job did not finish in time and was cancelled.', { code: 'timeout', param: null });
      }
      if (done.status === 'completed' && done.result) return chatCompletion(id, created, done.result);
      const error = done.error ?? { class: 'service_unavailable' as const, message: `job ${done.status} without an error` };
      const enabled = config.providers.map((p) => p.name);
      throw jobErrorToOpenAi(error, await retryAfterSeconds(app.ctx.state, enabled, error));
    },
  );
}
