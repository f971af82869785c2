/** Owns the job routes: submit, read, and long-poll a job. */

import { JOB_STATUSES, type JobView, jobRequestSchema, jobViewSchema } from '@switchyard/shared';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MAX_WAIT_MS } from '../jobs/job-service.ts';
import { ApiError } from '../plugins/errors.ts';

const idempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x21-\x7e]+$/, 'Idempotency-Key must be 1-255 printable ASCII characters without spaces')
    .optional(),
});

const jobParams = z.object({
  id: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9_-]+$/, 'job ids are letters, digits, _ and -'),
});

const errorSchema = z.object({ error: z.object({ type: z.string(), message: z.string() }).passthrough() });

export default async function jobRoutes(app: FastifyInstance) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    '/v1/jobs',
    {
      schema: {
        summary: 'Submit an LLM job',
        body: jobRequestSchema,
        headers: idempotencyHeaders,
        response: { 202: z.object({ id: z.string(), status: z.enum(JOB_STATUSES) }), 400: errorSchema },
      },
    },
    async (request, reply) => {
      const idempotencyKey = request.headers['idempotency-key'];
      const submitted = await app.ctx.jobs.submit(request.body, {
        clientId: request.clientId,
        ...(idempotencyKey ? { idempotencyKey } : {}),
      });
      let status: (typeof JOB_STATUSES)[number] = 'queued';
      if (submitted.existing) {
        status = (await app.ctx.jobs.view(submitted.id))?.status ?? 'queued';
        reply.header('idempotent-replayed', 'true');
      }
      reply.header('location', `/v1/jobs/${submitted.id}`);
      return reply.code(202).send({ id: submitted.id, status });
    },
  );

  r.get(
    '/v1/jobs/:id',
    {
      schema: {
        summary: 'Read a job; with wait_ms, long-poll until it is final',
        params: jobParams,
        querystring: z.object({ wait_ms: z.coerce.number().int().min(0).max(MAX_WAIT_MS).optional() }),
        response: { 200: jobViewSchema, 404: errorSchema },
      },
    },
    async (request) => {
      const { id } = request.params;
      const waitMs = request.query.wait_ms ?? 0;
      let view: JobView | null;
      if (waitMs > 0) {
        const closed = new AbortController();
        request.raw.once('close', () => closed.abort());
        view = await app.ctx.jobs.waitForFinal(id, waitMs, closed.signal);
      } else {
        view = await app.ctx.jobs.view(id);
      }
      if (!view) throw new ApiError(404, 'not_found_error', `No job with id "${id}". Jobs are kept for RESULT_TTL_S after they finish.`);
      return view;
    },
  );
}
