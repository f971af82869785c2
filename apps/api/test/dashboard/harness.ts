/**
 * Builds the real API with the dashboard plugin, listening on a free port on 127.0.0.1, against
 * the real Redis in a namespace of its own, plus a state store on the same namespace so a test can
 * report outcomes and heartbeats the way workers do.
 */
import { Writable } from 'node:stream';
import { createLogger, createRedis, loadConfig, waitForRedis } from '@switchyard/shared';
import { deleteNamespace, testNamespace, testRedisUrl } from '@switchyard/shared/testing';
import { createStateStore, type StateStore } from '@switchyard/state';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { type ApiResources, createApiContext } from '../../src/context.ts';
import dashboardPlugin, { type DashboardOptions } from '../../src/dashboard/index.ts';

export interface DashboardApi {
  app: FastifyInstance;
  ctx: ApiResources;
  url: string;
  namespace: string;
  /** A state store of the test's own (its own connection), on the API's namespace. */
  state: StateStore;
  logLines: string[];
  close(): Promise<void>;
}

export async function startDashboardApi(env: Record<string, string> = {}, options: DashboardOptions = {}): Promise<DashboardApi> {
  const namespace = testNamespace('dash');
  const redisUrl = testRedisUrl();
  const config = loadConfig({ REDIS_URL: redisUrl, SWITCHYARD_NAMESPACE: namespace, LOG_LEVEL: 'info', ...env });
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logLines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  const logger = createLogger({ name: 'test-dashboard', level: config.LOG_LEVEL }, sink);
  const ctx = await createApiContext(config, logger, 5_000);
  const app = await buildApp(ctx);
  if (!app.hasPlugin('switchyard-dashboard')) await app.register(dashboardPlugin, options);
  const address = await app.listen({ host: '127.0.0.1', port: 0 });

  const stateRedis = createRedis(config, 'request', 'test-dashboard-state');
  stateRedis.on('error', () => {});
  await waitForRedis(stateRedis, 5_000, redisUrl);
  const state = createStateStore(stateRedis, config, logger);

  return {
    app,
    ctx,
    url: address,
    namespace,
    state,
    logLines,
    async close() {
      await app.close();
      await ctx.close();
      await state.close();
      stateRedis.disconnect();
      await deleteNamespace(redisUrl, namespace);
    },
  };
}
