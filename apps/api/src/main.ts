/**
 * The API process: loads configuration (exiting with a clear message on a bad value), connects to
 * Redis with a deadline, serves, and closes cleanly on SIGTERM/SIGINT.
 */
import { createLogger, createRedis, loadConfigOrExit, redactUrl, waitForRedis } from '@switchyard/shared';
import { buildApp } from './app.ts';
import { CompletionHub } from './jobs/completion-hub.ts';
import { JobService } from './jobs/job-service.ts';

const config = loadConfigOrExit();
const logger = createLogger({ name: 'switchyard-api', level: config.LOG_LEVEL });

const redis = createRedis(config, 'request', 'switchyard-api');
const subscriber = createRedis(config, 'blocking', 'switchyard-api-sub');
redis.on('error', (err) => logger.warn({ err: { message: err.message } }, 'redis connection error'));
subscriber.on('error', (err) => logger.warn({ err: { message: err.message } }, 'redis subscriber error'));

try {
  await waitForRedis(redis, Math.max(config.REDIS_CONNECT_TIMEOUT_MS, 5000), config.REDIS_URL);
} catch (err) {
  logger.fatal({ redis: redactUrl(config.REDIS_URL) }, (err as Error).message);
  process.exit(1);
}

const hub = new CompletionHub(subscriber, config.SWITCHYARD_NAMESPACE, logger);
await hub.start();
const jobs = new JobService(config, redis, hub);
const app = await buildApp({ config, logger, redis, jobs, hub });

const address = await app.listen({ host: config.API_HOST, port: config.API_PORT });
logger.info({ address, providers: config.providers.map((p) => p.name), defaultModel: config.DEFAULT_MODEL }, 'switchyard api listening');

let closing = false;
async function shutdown(signal: string) {
  if (closing) return;
  closing = true;
  logger.info({ signal }, 'api shutting down');
  const force = setTimeout(() => process.exit(0), config.SHUTDOWN_TIMEOUT_MS).unref();
  await app.close().catch(() => {});
  await jobs.close().catch(() => {});
  await hub.close().catch(() => {});
  redis.disconnect();
  clearTimeout(force);
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
