/**
 * Owns per-client rate limits: RATE_LIMIT_RPM requests per minute per client (request.clientId:
 * the API key's digest, else the address), counted in Redis so the limit holds across every API
 * replica. Over it: 429 in the error envelope with retry-after. Health checks and the docs are
 * never limited; if Redis cannot count, the request goes through (the route answers 503 itself
 * if it needs Redis).
 */
import rateLimit from '@fastify/rate-limit';
import type { RedisClient } from '@switchyard/shared';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from './errors.ts';

export interface RateLimitOptions {
  rpm: number;
  redis: RedisClient;
  namespace: string;
}

const UNLIMITED = new Set(['/healthz', '/readyz']);

export function isUnlimited(request: FastifyRequest): boolean {
  const route = request.routeOptions.url ?? '';
  return UNLIMITED.has(route) || route === '/docs' || route.startsWith('/docs/');
}

async function rateLimitPlugin(app: FastifyInstance, options: RateLimitOptions) {
  if (options.rpm <= 0) return;
  await app.register(rateLimit, {
    global: true,
    max: options.rpm,
    timeWindow: 60_000,
    redis: options.redis,
    nameSpace: `${options.namespace}:{ratelimit}:`,
    skipOnError: true,
    keyGenerator: (request) => request.clientId || `ip:${request.ip}`,
    allowList: (request) => isUnlimited(request),
    errorResponseBuilder: (_request, context) =>
      new ApiError(
        429,
        'rate_limit_error',
        `Rate limit reached: ${context.max} requests per minute per client. Retry after ${context.after}.`,
        { code: 'rate_limit_exceeded' },
        { 'retry-after': String(Math.max(1, Math.ceil(context.ttl / 1000))) },
      ),
  });
}

export default fp(rateLimitPlugin, { name: 'switchyard-rate-limit', dependencies: ['switchyard-auth', 'switchyard-errors'] });
