/**
 * Owns POST /v1/jobs/batch: up to MAX_BATCH jobs in one request, added in one round trip
 * (addBulk). Each item may carry its own `idempotency_key`; an Idempotency-Key header keys the
 * whole batch (item i gets `<key>:<i>`), so resubmitting a batch returns the same ids.
 */
import { jobRequestSchema } from '@switchyard/shared';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorSchema, idempotencyHeaders, OUTCOME_UNKNOWN_DOC } from './schemas.ts';

export const MAX_BATCH = 1_000;

const batchItemSchema = jobRequestSchema.extend({
  idempotency_key: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x21-\x7e]+$/, 'idempotency_key must be 1-255 printable ASCII characters without spaces')
    .optional(),
});

export const batchSchema = z
  .object({
    jobs: z.array(batchItemSchema).min(1, 'jobs needs at least one job').max(MAX_BATCH, `at most ${MAX_BATCH} jobs per batch`),
  })
  .strict();

export default async function jobBatchRoutes(app: FastifyInstance) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    '/v1/jobs/batch',
    {
      // A full batch of small jobs is larger than one job's limit.
      bodyLimit: Math.max(app.ctx.config.BODY_LIMIT_BYTES, 8 * 1024 * 1024),
      schema: {
        summary: `Submit up to ${MAX_BATCH} jobs at once`,
        description: `202 with the jobs' ids, in order. ${OUTCOME_UNKNOWN_DOC}`,
        tags: ['jobs'],
        body: batchSchema,
        headers: idempotencyHeaders,
        response: {
          202: z.object({ count: z.number().int(), ids: z.array(z.string()), status: z.literal('queued') }),
          400: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const batchKey = request.headers['idempotency-key'];
      const requests = request.body.jobs.map(({ idempotency_key: _, ...job }) => job);
      const options = request.body.jobs.map((job, i) => {
        const key = job.idempotency_key ?? (batchKey ? `${batchKey}:${i}` : undefined);
        return { clientId: request.clientId, viewer: request.viewer, ...(key ? { idempotencyKey: key } : {}) };
      });
      const ids = await app.ctx.jobs.submitMany(requests, options);
      return reply.code(202).send({ count: ids.length, ids, status: 'queued' as const });
    },
  );
}
