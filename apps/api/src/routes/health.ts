/** Owns liveness and readiness: /healthz does no I/O; /readyz is one unretried Redis PING with a short deadline. */

import { pingWithDeadline } from '@switchyard/shared';
import type { FastifyInstance } from 'fastify';

const READY_DEADLINE_MS = 250;

export default async function healthRoutes(app: FastifyInstance) {
  app.get('/healthz', { logLevel: 'silent' }, async () => ({ status: 'ok' }));

  app.get('/readyz', { logLevel: 'silent' }, async (_request, reply) => {
    const redisUp = await pingWithDeadline(app.ctx.redis, READY_DEADLINE_MS);
    if (!redisUp) {
      reply.header('retry-after', '1');
      return reply.code(503).send({
        status: 'unavailable',
        checks: { redis: 'down' },
        error: { type: 'service_unavailable', message: 'Redis did not answer PING within 250 ms.' },
      });
    }
    return { status: 'ready', checks: { redis: 'up' } };
  });
}
