/**
 * Owns the dashboard's data routes under /dashboard/api (registered behind app.requireOperator:
 * dashboard/index.ts): the snapshot (optionally after a forced status refresh), the chart series,
 * tokens and spend (usage-board.ts), the live SSE stream, and bull-board's session cookie.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { SESSION_COOKIE, SESSION_PATH, sessionTokenFor } from '../plugins/auth.ts';
import type { SnapshotSource } from './snapshot.ts';
import type { DashboardStream } from './stream.ts';
import { readUsageBoard } from './usage-board.ts';

const snapshotQuery = z.object({
  force_refresh: z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .transform((v) => v === 'true' || v === '1'),
});

export function registerDataRoutes(app: FastifyInstance, source: SnapshotSource, stream: DashboardStream): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/dashboard/api/snapshot', { schema: { hide: true, querystring: snapshotQuery } }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    return source.snapshot({ forceRefresh: request.query.force_refresh });
  });

  // Exchanges the Bearer key (checked by the auth plugin, and an operator's when ADMIN_API_KEYS is
  // set) for bull-board's session cookie. An open API (no keys configured) needs no cookie.
  r.post('/dashboard/api/session', { schema: { hide: true } }, async (request, reply) => {
    const key = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
    if (!key || !request.authenticated) return reply.code(204).send();
    const secure = request.protocol === 'https' ? '; Secure' : '';
    reply.header(
      'set-cookie',
      `${SESSION_COOKIE}=${sessionTokenFor(key)}; Path=${SESSION_PATH}; HttpOnly; SameSite=Strict; Max-Age=43200${secure}`,
    );
    return reply.code(204).send();
  });
  r.delete('/dashboard/api/session', { schema: { hide: true } }, async (_request, reply) => {
    reply.header('set-cookie', `${SESSION_COOKIE}=; Path=${SESSION_PATH}; HttpOnly; SameSite=Strict; Max-Age=0`);
    return reply.code(204).send();
  });

  r.get('/dashboard/api/series', { schema: { hide: true } }, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return source.series();
  });

  r.get('/dashboard/api/usage', { schema: { hide: true } }, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return readUsageBoard(app.ctx.state.usage);
  });

  r.get('/dashboard/api/stream', { schema: { hide: true } }, (_request, reply) => {
    stream.attach(reply);
  });
}
