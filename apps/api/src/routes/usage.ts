/**
 * Owns GET /v1/usage (CONTRACT.md, "Usage, spend and client budgets"): tokens and spend of finished
 * jobs per UTC day for the last `days` (up to 30), grouped by client, route, deployment or model,
 * with totals per key, read fleet-wide from Redis. A client key sees its own usage only (any
 * grouping is of its own jobs); an operator key (ADMIN_API_KEYS), or anyone on an API without keys,
 * sees every client's.
 */
import { USAGE_GROUPS, USAGE_RETENTION_DAYS } from '@switchyard/state';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorSchema } from './schemas.ts';

const figures = {
  requests: z.number().int(),
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  cost_usd: z.number(),
};

export const usageReportSchema = z.object({
  days: z.number().int(),
  from: z.string(),
  to: z.string(),
  group_by: z.enum(USAGE_GROUPS),
  /** Set when the report is one client's own. */
  client: z.string().nullable(),
  rows: z.array(z.object({ date: z.string(), key: z.string(), ...figures })),
  totals: z.array(z.object({ key: z.string(), ...figures })),
});

export default async function usageRoutes(app: FastifyInstance) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/v1/usage',
    {
      schema: {
        summary: `Tokens and spend per UTC day (1 to ${USAGE_RETENTION_DAYS} days), by client, route, deployment or model`,
        description: 'A client key sees its own usage only; an operator key sees every client. cost_usd is 0 where no price is known.',
        tags: ['fleet'],
        querystring: z.object({
          days: z.coerce.number().int().min(1).max(USAGE_RETENTION_DAYS).default(7),
          group_by: z.enum(USAGE_GROUPS).default('client'),
        }),
        response: { 200: usageReportSchema, 400: errorSchema },
      },
    },
    async (request) => {
      const { days, group_by } = request.query;
      // Unauthenticated requests reach this only on an API without keys: one anonymous client, nothing to hide.
      const own = request.authenticated && !request.operator ? request.clientName : undefined;
      const report = await app.ctx.state.usage.readDays(days, { groupBy: group_by, client: own });
      return { ...report, group_by, client: own ?? null };
    },
  );
}
