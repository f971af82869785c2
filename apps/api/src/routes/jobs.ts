/** Owns the job routes: submit, read, long-poll and cancel a job. */

import { JOB_STATUSES, type JobView, jobRequestSchema, jobViewSchema, LightAbortController } from '@switchyard/shared';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { cancelJob } from '../jobs/job-cancel.ts';
import { isFinal, MAX_WAIT_MS } from '../jobs/job-service.ts';
import { jobNotFound } from '../jobs/ownership.ts';
import { errorSchema, idempotencyHeaders, jobParams, OUTCOME_UNKNOWN_DOC } from './schemas.ts';

export default async function jobRoutes(app: FastifyInstance) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    '/v1/jobs',
    {
      schema: {
        summary: 'Submit an LLM job',
        description: `202 with the job id, assigned before the write. ${OUTCOME_UNKNOWN_DOC}`,
        body: jobRequestSchema,
        headers: idempotencyHeaders,
        response: { 202: z.object({ id: z.string(), status: z.enum(JOB_STATUSES) }), 400: errorSchema },
      },
    },
    async (request, reply) => {
      const idempotencyKey = request.headers['idempotency-key'];
      const submitted = await app.ctx.jobs.submit(request.body, {
        clientId: request.clientId,
        viewer: request.viewer,
        ...(idempotencyKey ? { idempotencyKey } : {}),
      });
      let status: (typeof JOB_STATUSES)[number] = 'queued';
      if (submitted.existing) {
        status = (await app.ctx.jobs.viewFor(request.viewer, submitted.id))?.status ?? 'queued';
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
    async (request, reply) => {
      const { id } = request.params;
      const waitMs = request.query.wait_ms ?? 0;
      let view: JobView | null;
      if (waitMs > 0) {
        const closed = new LightAbortController();
        reply.raw.once('close', () => {
          if (!reply.raw.writableFinished) closed.abort(); // the client hung up
        });
        view = await app.ctx.jobs.waitForFinal(request.viewer, id, waitMs, closed.signal);
      } else {
        view = await app.ctx.jobs.viewFor(request.viewer, id);
      }
      if (!view) throw jobNotFound(id);
      return view;
    },
  );

  r.delete(
    '/v1/jobs/:id',
    {
      schema: {
        summary: 'Cancel a job: a queued one never runs, an active one has its provider calls aborted, a final one is left as it is',
        description:
          '200 with the final view (cancelled, or the state it had already reached); 202 with status active while the worker is still aborting it.',
        tags: ['jobs'],
        params: jobParams,
        response: { 200: jobViewSchema, 202: jobViewSchema, 404: errorSchema },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const { jobs, redis, config } = app.ctx;
      const deps = { jobs, redis, namespace: config.SWITCHYARD_NAMESPACE, markTtlS: config.FAILED_TTL_S };
      const outcome = await cancelJob(deps, request.viewer, id);
      if (!outcome) throw jobNotFound(id);
      return reply.code(isFinal(outcome.view.status) ? 200 : 202).send(outcome.view);
    },
  );
}
