/** Builds the real API in-process against the real Redis, in a namespace of its own. */

import { Writable } from 'node:stream';
import { createLogger, loadConfig } from '@switchyard/shared';
import { deleteNamespace, testNamespace, testRedisUrl } from '@switchyard/shared/testing';
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
