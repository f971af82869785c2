/**
 * Owns the dashboard plugin: composes the page and its static assets (public), the data routes
 * under /dashboard/api (protected by the auth plugin when API_KEYS is set), the live SSE stream
 * and bull-board at /admin/queues. Register it after the auth plugin:
 *   await app.register(dashboardPlugin);
 * It reads app.ctx (config, logger, redis, jobs.queue) and a state store: options.state, else
 * app.ctx.state when the context carries one, else a cache-only store of its own.
 */
import { createStateStore, type ProbeFn, type StateStore } from '@switchyard/state';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { registerAssets } from './assets.ts';
import { registerBullBoard } from './bull-board.ts';
import { registerDataRoutes } from './data-routes.ts';
import { SnapshotSource } from './snapshot.ts';
import { DashboardStream } from './stream.ts';

export interface DashboardOptions {
  /** The state store to read; default app.ctx.state, else one built on app.ctx.redis. */
  state?: StateStore;
  /** Health probe for a store the plugin builds itself (force refresh); without it, refresh serves the cache. */
  prober?: ProbeFn;
  /** Snapshot push period of the SSE stream. Default 2000 ms. */
  snapshotIntervalMs?: number;
  /** Chart series push period of the SSE stream. Default 5000 ms. */
  seriesIntervalMs?: number;
  /** Minutes of per-minute series the charts show. Default 60. */
  seriesMinutes?: number;
  /** Mount bull-board at /admin/queues. Default true. */
  bullBoard?: boolean;
}

async function dashboardPlugin(app: FastifyInstance, options: DashboardOptions) {
  const ctx = app.ctx as typeof app.ctx & { state?: StateStore };
  const ownStore = !options.state && !ctx.state;
  const state =
    options.state ?? ctx.state ?? createStateStore(ctx.redis, ctx.config, ctx.logger, options.prober ? { prober: options.prober } : {});
  const source = new SnapshotSource(state, ctx.jobs.queue, { seriesMinutes: options.seriesMinutes ?? 60 });
  const stream = new DashboardStream(source, state, ctx.logger, {
    redis: ctx.config,
    snapshotIntervalMs: options.snapshotIntervalMs ?? 2_000,
    seriesIntervalMs: options.seriesIntervalMs ?? 5_000,
  });

  await registerAssets(app, { authRequired: (ctx.config.API_KEYS ?? []).length > 0 });
  registerDataRoutes(app, source, stream);
  if (options.bullBoard !== false) await registerBullBoard(app, ctx.jobs.queue);

  // SSE connections never end on their own: close them first so app.close() is not held up.
  app.addHook('preClose', async () => {
    await stream.close();
  });
  app.addHook('onClose', async () => {
    if (ownStore) await state.close();
  });
}

export default fp(dashboardPlugin, { name: 'switchyard-dashboard', fastify: '5.x', dependencies: ['switchyard-auth'] });
export type { DashboardSeries, DashboardSnapshot } from './snapshot.ts';
