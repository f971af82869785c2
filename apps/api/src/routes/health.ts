/**
 * Owns liveness and readiness: /healthz does no I/O; /readyz is one unretried Redis PING with a
 * short deadline, and the state of the queue's and the subscriber's connections (no I/O): ready
 * means a submission would be taken and its completion heard, not only that one connection is up.
 */

import { pingWithDeadline } from '@switchyard/shared';
import type { FastifyInstance } from 'fastify';

const READY_DEADLINE_MS = 250;

export default async function healthRoutes(app: FastifyInstance) {
  app.get('/healthz', { logLevel: 'silent' }, async () => ({ status: 'ok' }));

  app.get('/readyz', { logLevel: 'silent' }, async (_request, reply) => {
    const redisUp = await pingWithDeadline(app.ctx.redis, READY_DEADLINE_MS);
    const { queue, subscriber } = app.ctx.otherConnections();
    const checks = { redis: redisUp ? 'up' : 'down', queue: queue ? 'up' : 'down', subscriber: subscriber ? 'up' : 'down' };
    if (!redisUp || !queue || !subscriber) {
      const down = [
        ...(redisUp ? [] : ['Redis did not answer PING within 250 ms']),
        ...(queue ? [] : ["the queue's Redis connection is reconnecting"]),
        ...(subscriber ? [] : ["the completion subscriber's Redis connection is reconnecting"]),
      ];
      reply.header('retry-after', '1');
      return reply.code(503).send({
        status: 'unavailable',
        checks,
        error: { type: 'service_unavailable', message: `${down.join('; ')}.` },
      });
    }
    return { status: 'ready', checks };
  });
}
