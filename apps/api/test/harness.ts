/** Builds the real API in-process against the real Redis, in a namespace of its own. */

import { Writable } from 'node:stream';
import { createLogger, createRedis, loadConfig, waitForRedis } from '@switchyard/shared';
import { deleteNamespace, testNamespace, testRedisUrl } from '@switchyard/shared/testing';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.ts';
import type { ApiContext } from '../src/context.ts';
import { CompletionHub } from '../src/jobs/completion-hub.ts';
import { JobService } from '../src/jobs/job-service.ts';

export interface TestApi {
  app: FastifyInstance;
  ctx: ApiContext;
  namespace: string;
  logLines: string[];
  close(): Promise<void>;
}

export async function startTestApi(env: Record<string, string> = {}): Promise<TestApi> {
  const namespace = testNamespace('api');
  const redisUrl = testRedisUrl();
  const config = loadConfig({ REDIS_URL: redisUrl, SWITCHYARD_NAMESPACE: namespace, LOG_LEVEL: 'info', ...env });
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logLines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  const logger = createLogger({ name: 'test-api', level: config.LOG_LEVEL }, sink);
  const redis = createRedis(config, 'request', 'test-api');
  const subscriber = createRedis(config, 'blocking', 'test-api-sub');
  redis.on('error', () => {});
  subscriber.on('error', () => {});
  await waitForRedis(redis, 5000, redisUrl);
  const hub = new CompletionHub(subscriber, namespace, logger);
  await hub.start();
  const jobs = new JobService(config, redis, hub);
  const ctx: ApiContext = { config, logger, redis, jobs, hub };
  const app = await buildApp(ctx);
  await app.ready();
  return {
    app,
    ctx,
    namespace,
    logLines,
    async close() {
      await app.close();
      await jobs.close();
      await hub.close();
      redis.disconnect();
      await deleteNamespace(redisUrl, namespace);
    },
  };
}
