/**
 * Owns the dashboard plugin: composes the page and its static assets (public), the data routes
 * under /dashboard/api, the live SSE stream and bull-board at /admin/queues. The data and bull-board
 * show every job and the whole fleet, so they sit behind app.requireOperator: operator keys only
 * when ADMIN_API_KEYS is set, any client key otherwise. Register it after the auth plugin:
 *   await app.register(dashboardPlugin);
 * It reads app.ctx (config, logger, jobs.queue, state) and opens one Redis connection of its own
 * (the state-event subscription), opened when the first page connects to the stream.
 */
import type { StateStore } from '@switchyard/state';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { registerAssets } from './assets.ts';
import { registerBullBoard } from './bull-board.ts';
import { registerDataRoutes } from './data-routes.ts';
import { SnapshotSource } from './snapshot.ts';
import { DashboardStream } from './stream.ts';

export interface DashboardOptions {
  /** The state store to read; default app.ctx.state (force refresh probes through its prober). */
  state?: StateStore;
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
  const ctx = app.ctx;
  const state = options.state ?? ctx.state;
  const source = new SnapshotSource(state, ctx.jobs.queue, {
    seriesMinutes: options.seriesMinutes ?? 60,
    configHash: () => ctx.fleet.hash,
  });
  const stream = new DashboardStream(source, state, ctx.logger, {
    redis: ctx.config,
    snapshotIntervalMs: options.snapshotIntervalMs ?? 2_000,
    seriesIntervalMs: options.seriesIntervalMs ?? 5_000,
  });

  const keys = [...(ctx.config.API_KEYS ?? []), ...(ctx.config.ADMIN_API_KEYS ?? []), ...ctx.clients().map((c) => c.key)];
  await registerAssets(app, { authRequired: keys.length > 0 });
  await app.register(async (operatorOnly) => {
    operatorOnly.addHook('onRequest', app.requireOperator);
    registerDataRoutes(operatorOnly, source, stream);
    if (options.bullBoard !== false) await registerBullBoard(operatorOnly, ctx.jobs.queue);
  });

  // SSE connections never end on their own: close them first so app.close() is not held up.
  app.addHook('preClose', async () => {
    await stream.close();
  });
}

export default fp(dashboardPlugin, { name: 'switchyard-dashboard', fastify: '5.x', dependencies: ['switchyard-auth'] });
export type { DashboardSeries, DashboardSnapshot } from './snapshot.ts';
