/**
 * Builds the real API in-process against the real Redis, in a namespace of its own: for
 * app.inject, or listening on a free port of 127.0.0.1 for real HTTP clients (a browser, SSE).
 */

import { Writable } from 'node:stream';
import { createLogger, createRedis, loadConfig, waitForRedis } from '@switchyard/shared';
import { deleteNamespace, testNamespace, testRedisUrl } from '@switchyard/shared/testing';
import { createStateStore, type StateStore } from '@switchyard/state';
import type { FastifyInstance } from 'fastify';
import { type BuildAppOptions, buildApp } from '../src/app.ts';
import { type ApiContextOptions, type ApiResources, createApiContext } from '../src/context.ts';

export interface TestApi {
  app: FastifyInstance;
  ctx: ApiResources;
  namespace: string;
  redisUrl: string;
  logLines: string[];
  close(): Promise<void>;
}

export async function startTestApi(
  env: Record<string, string> = {},
  options: ApiContextOptions = {},
  appOptions: BuildAppOptions = {},
): Promise<TestApi> {
  const namespace = env.SWITCHYARD_NAMESPACE ?? testNamespace('api');
  const redisUrl = env.REDIS_URL ?? testRedisUrl();
  const config = loadConfig({ REDIS_URL: redisUrl, SWITCHYARD_NAMESPACE: namespace, LOG_LEVEL: 'info', ...env });
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logLines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  const logger = createLogger({ name: 'test-api', level: config.LOG_LEVEL }, sink);
  const ctx = await createApiContext(config, logger, 5000, options);
  const app = await buildApp(ctx, appOptions);
  await app.ready();
  return {
    app,
    ctx,
    namespace,
    redisUrl,
    logLines,
    async close() {
      // A client may hold a connection it never sent a request on (undici pre-connects): do not wait for it.
      const closing = app.close();
      app.server.closeAllConnections();
      await closing;
      await ctx.close();
      await deleteNamespace(redisUrl, namespace).catch(() => 0);
    },
  };
}

export interface ListeningTestApi extends TestApi {
  /** http://127.0.0.1:<port> */
  url: string;
  /** A state store of the test's own (its own connection) on the API's namespace, to report outcomes and heartbeats the way workers do. */
  state: StateStore;
}

/** startTestApi, listening on a free port of 127.0.0.1, with a state store of the test's own. */
export async function startListeningTestApi(env: Record<string, string> = {}): Promise<ListeningTestApi> {
  const api = await startTestApi(env);
  const stateRedis = createRedis(api.ctx.config, 'request', 'test-api-state');
  stateRedis.on('error', () => {});
  try {
    const url = await api.app.listen({ host: '127.0.0.1', port: 0 });
    await waitForRedis(stateRedis, 5_000, api.redisUrl);
    const state = createStateStore(stateRedis, api.ctx.config, api.ctx.logger);
    return {
      ...api,
      url,
      state,
      async close() {
        // The store first: what it still writes lands before the namespace is deleted.
        await state.close();
        stateRedis.disconnect();
        await api.close();
      },
    };
  } catch (err) {
    stateRedis.disconnect();
    await api.close();
    throw err;
  }
}
