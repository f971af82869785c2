/**
 * The worker process: one replica of the fleet. Loads configuration (exiting with a clear message
 * on a bad value), connects to Redis with a deadline, builds adapters -> state store -> router ->
 * BullMQ worker, heartbeats into the worker registry, and drains on SIGTERM/SIGINT, exiting 0.
 */

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { FleetRuntimeSource } from '@switchyard/providers';
import { catchStopSignals, createLogger, createRedis, loadConfigOrExit, redactUrl, waitForRedis } from '@switchyard/shared';
import { createStateStore } from '@switchyard/state';
import { createFleetRouter, deploymentEntries, followDeployments } from './fleet-setup.ts';
import { JobEventPublisher } from './job-events.ts';
import { JobWorker } from './job-worker.ts';
import { RouterRunner } from './router-runner.ts';
import { UsageReporter } from './usage-reporter.ts';

const HEARTBEAT_EVERY_MS = 2_000;

const stopSignals = catchStopSignals();

const config = loadConfigOrExit();
const workerId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
const logger = createLogger({ name: 'switchyard-worker', level: config.LOG_LEVEL }).child({ workerId });

// Both carry several writes per job (BullMQ's scripts; our reports, usage and completion
// messages): coalesced, the writes of one event-loop turn leave as one syscall. That also does
// what auto-pipelining did for the commands connection, without a Pipeline object per turn.
const connection = createRedis(config, 'blocking', 'switchyard-worker', { coalesceWrites: true });
const commands = createRedis(config, 'request', 'switchyard-worker-cmd', { autoPipelining: false, coalesceWrites: true });
const subscriber = createRedis(config, 'blocking', 'switchyard-worker-sub');
for (const client of [connection, commands, subscriber]) {
  client.on('error', (err: Error) => logger.warn({ err: { message: err.message } }, 'redis connection error'));
}
try {
  await waitForRedis(commands, Math.max(config.REDIS_CONNECT_TIMEOUT_MS, 5000), config.REDIS_URL);
} catch (err) {
  logger.fatal({ redis: redactUrl(config.REDIS_URL) }, (err as Error).message);
  process.exit(1);
}

const fleet = FleetRuntimeSource.loadOrExit(config, logger);
const state = createStateStore(commands, { ...config, providers: deploymentEntries(fleet.current.config) }, logger);
const { router, load: fleetLoad } = createFleetRouter({ fleet, state, commands, config, logger, workerId });
fleetLoad.start();
followDeployments(fleet, state);
fleet.start();
const usage = new UsageReporter(state.usage, logger);
const jobWorker = new JobWorker({
  usage,
  config,
  logger,
  connection,
  commands,
  subscriber,
  runner: new RouterRunner(router),
  events: new JobEventPublisher(commands, config.SWITCHYARD_NAMESPACE, logger),
  workerId,
});

const startedAt = Date.now();
const heartbeat = () =>
  state
    .heartbeat({
      id: workerId,
      host: hostname(),
      pid: process.pid,
      concurrency: config.WORKER_CONCURRENCY,
      active_jobs: jobWorker.activeCount,
      started_at: startedAt,
      config_hash: fleet.hash,
    })
    .catch((err: Error) => logger.warn({ err: { message: err.message } }, 'heartbeat failed'));
await heartbeat();
const heartbeatTimer = setInterval(heartbeat, HEARTBEAT_EVERY_MS);

await jobWorker.start();
logger.info(
  { concurrency: config.WORKER_CONCURRENCY, deployments: [...fleet.current.adapters.keys()], configHash: fleet.hash },
  'worker ready',
);

let closing = false;
async function shutdown(signal: string) {
  if (closing) return;
  closing = true;
  logger.info({ signal, activeJobs: jobWorker.activeCount }, 'worker draining');
  clearInterval(heartbeatTimer);
  const force = setTimeout(() => {
    logger.error('drain overran its deadline; exiting');
    process.exit(1);
  }, config.SHUTDOWN_TIMEOUT_MS + 5_000).unref();
  await jobWorker
    .close(config.SHUTDOWN_TIMEOUT_MS)
    .catch((err: Error) => logger.warn({ err: { message: err.message } }, 'worker close failed'));
  await state.workers.deregister(workerId).catch(() => {});
  await Promise.all([fleetLoad.stop(), fleet.stop()]).catch(() => {});
  // The outcomes of the last calls (shutdown aborts included) are still on their way to the fleet.
  const reported = await router.drain(1_000);
  if (!reported) logger.warn({ pending: router.stats().reports.pending }, 'some call reports did not reach the state store');
  if (!(await usage.drain(1_000))) logger.warn({ pending: usage.stats.pending }, 'some usage reports did not reach the state store');
  await state.close().catch(() => {});
  for (const client of [connection, commands, subscriber]) client.disconnect();
  clearTimeout(force);
  logger.info('worker stopped');
  process.exit(0);
}
stopSignals.onStop((signal) => void shutdown(signal));
