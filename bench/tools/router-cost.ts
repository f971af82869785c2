/**
 * CPU per job of the worker's own work, without BullMQ: RouterRunner -> Router (built as the worker's
 * main.ts builds it: the fleet config, the candidate planner, the fleet-wide routing figures) -> the
 * in-process mock provider (echo) -> the real Redis state store (provider view, metrics), plus what
 * JobWorker adds per job (an AbortController, a child logger, the "job completed" info line on
 * stdout). Jobs run `concurrency` at a time, like WORKER_CONCURRENCY. Prints CPU µs per job, three
 * rounds. Use it to see what a change to the router's hot path buys, free of the queue's noise:
 *
 *   npx tsx bench/tools/router-cost.ts [jobs=30000] [concurrency=16] [direct|routes] > /dev/null
 *
 * `direct` (the default): jobs name `mock/echo`, no config file. `routes`: B8's 20-route config
 * (bench/lib/route-config.ts, every target serving echo in-process), jobs cycling through the routes.
 *
 * Needs Redis at REDIS_URL (default 127.0.0.1:6379); uses a namespace of its own and deletes it.
 */
import { writeSync } from 'node:fs';
import { FleetRuntimeSource } from '@switchyard/providers';
import { createLogger, createRedis, LightAbortController, loadConfig, type QueuedJobData } from '@switchyard/shared';
import { createStateStore } from '@switchyard/state';
import { createFleetRouter, deploymentEntries } from '../../apps/worker/src/fleet-setup.ts';
import { RouterRunner } from '../../apps/worker/src/router-runner.ts';
import { routeNames, writeRouteFleetFile } from '../lib/route-config.ts';

const jobs = Number(process.argv[2] ?? 30_000);
const concurrency = Number(process.argv[3] ?? 16);
const routed = process.argv[4] === 'routes';
const namespace = `router-cost-${process.pid}`;
const file = routed ? writeRouteFleetFile(undefined) : undefined;
const config = loadConfig({
  ...process.env,
  SWITCHYARD_NAMESPACE: namespace,
  MOCK_PROVIDER: 'true',
  LOG_LEVEL: 'info',
  ...(file ? { SWITCHYARD_CONFIG: file.path } : {}),
});
// The workers' own log destination (stdout): run with stdout sent to /dev/null or a file.
const logger = createLogger({ name: 'router-cost', level: 'info' });
const redis = createRedis(config, 'request', 'router-cost');
const fleet = FleetRuntimeSource.load(config, logger);
const state = createStateStore(redis, { ...config, providers: deploymentEntries(fleet.current.config) }, logger);
const { router, load: fleetLoad } = createFleetRouter({ fleet, state, commands: redis, config, logger, workerId: 'router-cost' });
fleetLoad.start();
const runner = new RouterRunner(router);

const models = routed ? routeNames() : ['mock/echo'];
const jobData = models.map(
  (model): QueuedJobData =>
    ({
      model,
      request: { messages: [{ role: 'user', content: 'bench job: reply with this sentence.' }] },
      budget_ms: 30_000,
      stream: false,
    }) as QueuedJobData,
);

async function one(i: number): Promise<void> {
  const jobId = `job-${i}`;
  const data = jobData[i % jobData.length]!;
  const log = logger.child({ jobId });
  const controller = new LightAbortController();
  const started = Date.now();
  const result = await runner.run({ jobId, data, signal: controller.signal, deadlineAt: started + data.budget_ms, logger: log });
  log.info(
    { provider: result.provider, model: result.model, latencyMs: Date.now() - started, attempts: result.attempts.length },
    'job completed',
  );
}

async function round(n: number): Promise<number> {
  let next = 0;
  const cpu0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await one(next++);
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / n;
}

await round(Math.min(5_000, jobs));
for (let r = 1; r <= 3; r++) {
  // stderr, synchronously: stdout carries the log lines, and process.exit below must not cut this off.
  writeSync(
    2,
    `round ${r}: ${(await round(jobs)).toFixed(1)} µs CPU per job (${jobs} jobs, ${concurrency} at a time, ${routed ? `${models.length} routes` : 'mock/echo'})\n`,
  );
}
await fleetLoad.stop();
await state.close?.();
file?.remove();
const keys = await redis.keys(`${namespace}*`);
if (keys.length) await redis.del(...keys);
redis.disconnect();
process.exit(0);
