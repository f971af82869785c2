/**
 * Worker CPU per job when jobs arrive one at a time (open loop, a fixed rate), ours against a plain
 * BullMQ worker, both fed `queue.add` + `waitUntilFinished` from this process with the same jobs
 * (`mock/echo`; ours publishes the completion message as for the facade). B1 drains a full queue, where
 * BullMQ hands the next job back with each completion; at B3's open-loop rates the queue is mostly
 * empty, and every job pays the blocking fetch's wake-up and its own Redis round trips. Prints, per
 * rate and side, the jobs answered, latency and worker CPU per job, and Redis commands per job:
 *
 *   npx tsx bench/tools/trickle-cost.ts [rates=300,1000] [seconds=3]
 *
 * Starts a private redis-server (as `pnpm bench` does) and the processes it needs.
 */
import { randomUUID } from 'node:crypto';
import { type Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { createContext } from '../lib/context.ts';
import { OursFleet } from '../lib/fleet.ts';
import { openLoop } from '../lib/open-loop.ts';
import { cpuMsOf } from '../lib/processes.ts';
import { echoRequest } from '../lib/queue.ts';
import { diffStats, openBenchRedis } from '../lib/redis.ts';
import { summarize } from '../lib/stats.ts';
import { PlainPool } from '../lib/throughput.ts';

const rates = (process.argv[2] ?? '300,1000').split(',').map(Number);
const seconds = Number(process.argv[3] ?? 3);

const redis = await openBenchRedis('private');
const ctx = createContext('quick', redis, (m) => process.stderr.write(`${m}\n`));
const fleet = await OursFleet.get(ctx);
const plain = PlainPool.get(ctx);
await Promise.all([fleet.workersTo(1), plain.workersTo(1)]);
await fleet.steady();
const events = (queue: Queue, connection: Redis) =>
  new QueueEvents(queue.name, { connection: connection.duplicate(), prefix: queue.opts.prefix ?? 'bull' });
const sides = {
  plain: { queue: plain.queue, jobs: plain.shape, events: events(plain.queue, plain.connection), worker: plain.workers[0]! },
  ours: { queue: fleet.queue, jobs: fleet.jobs, events: events(fleet.queue, fleet.connection), worker: fleet.workers[0]! },
};
for (const side of Object.values(sides)) {
  await side.events.waitUntilReady();
  // waitUntilFinished adds a listener per waiting job: thousands at once are by design here.
  side.events.setMaxListeners(10_000);
  side.queue.setMaxListeners(10_000);
}
try {
  for (const rate of rates) {
    for (const [name, side] of Object.entries(sides)) {
      const cpu0 = cpuMsOf(side.worker.pid);
      const stats0 = await ctx.redis.commandStats();
      const result = await openLoop({
        rate,
        durationMs: seconds * 1000,
        maxInFlight: 2_000,
        send: async (i) => {
          const { name: jobName, data, opts } = side.jobs.job(echoRequest(i), randomUUID(), { notify: true });
          const job = await side.queue.add(jobName, data, opts);
          await job.waitUntilFinished(side.events, 30_000);
        },
      });
      const n = Math.max(1, result.completed);
      const commands = diffStats(await ctx.redis.commandStats(), stats0).total / n;
      const latency = summarize(result.latencies);
      console.log(
        `${name.padEnd(5)} ${rate}/s: ${result.completed} answered (${result.achievedRate.toFixed(0)}/s), p50 ${latency.p50.toFixed(2)} ms, ` +
          `p99 ${latency.p99.toFixed(2)} ms, worker CPU ${((cpuMsOf(side.worker.pid) - cpu0) / n).toFixed(3)} ms/job, ` +
          `Redis commands ${commands.toFixed(1)}/job (with this process's add and events)${result.firstError ? `; ${result.firstError}` : ''}`,
      );
    }
  }
} finally {
  for (const side of Object.values(sides)) await side.events.close().catch(() => {});
  for (const shared of ctx.shared.values()) await shared.close();
  await redis.stop();
}
process.exit(0);
