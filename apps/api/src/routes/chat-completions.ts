/**
 * Owns POST /v1/chat/completions, the OpenAI-compatible facade: the request becomes an ordinary
 * queued job; the answer is OpenAI's chat.completion object, or its SSE chunks with stream: true.
 * The completion waiter is registered before the job is added, so no read is needed to catch it.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { jobFailure, submitAndWait, waitBudgetMs } from '../openai/job-wait.ts';
import { chatCompletionRequestSchema, translateRequest } from '../openai/request.ts';
import { chatCompletion, chatCompletionSchema } from '../openai/response.ts';
import { streamCompletion } from '../openai/stream.ts';
import { errorSchema, idempotencyHeaders, OUTCOME_UNKNOWN_DOC } from './schemas.ts';

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
      const { jobs } = app.ctx;
      const translated = translateRequest(request.body, app.ctx.models);
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

      const done = await submitAndWait(app, reply, {
        jobId: id,
        job: translated.job,
        clientId: request.clientId,
        viewer: request.viewer,
        deadlineAt,
        ...(idempotencyKey ? { idempotencyKey } : {}),
      });
      if (!done) return reply;
      if (done.status === 'completed' && done.result) return chatCompletion(id, created, done.result);
      throw await jobFailure(app, done);
    },
  );
}
