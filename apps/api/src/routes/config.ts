/**
 * Owns GET /v1/config: the fleet config this API replica runs (deployments, routes, default
 * route), secrets redacted, with its hash, so replicas running another version are visible next
 * to the hashes in GET /v1/workers. Operator keys only when ADMIN_API_KEYS is set.
 */
import { redactFleetConfig } from '@switchyard/shared';
import type { FastifyInstance } from 'fastify';

export default async function configRoutes(app: FastifyInstance) {
  app.get(
    '/v1/config',
    {
      onRequest: app.requireOperator,
      schema: {
        summary: 'The running fleet config (routes and deployments), secrets redacted, with its hash',
        tags: ['fleet'],
      },
    },
    async () => redactFleetConfig(app.ctx.fleet.current.config),
  );
}
