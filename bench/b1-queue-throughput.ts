/**
 * B1 queue throughput: jobs/s through one of our worker processes (apps/worker: BullMQ worker ->
 * router -> in-process mock/echo provider with 0 ms I/O, fleet admission and outcome reporting in
 * Redis, completion published) against one plain BullMQ Worker process doing nothing, same Redis,
 * same job payloads and options, same count, same concurrency. Rounds alternate ours / plain and
 * the median counts. Target: ours >= 0.7 of plain BullMQ.
 */
import { type BenchContext, bySize } from './lib/context.ts';
import { WORKER_CONCURRENCY as CONCURRENCY } from './lib/fleet.ts';
import type { DrainResult } from './lib/queue.ts';
import { type BenchOutcome, ratio } from './lib/results.ts';
import { median } from './lib/stats.ts';
import { bothTo, measureThroughput } from './lib/throughput.ts';

const PARAMS = { tiny: { jobs: 200, rounds: 1 }, quick: { jobs: 2_000, rounds: 3 }, full: { jobs: 10_000, rounds: 3 } };

export async function run(ctx: BenchContext): Promise<Omit<BenchOutcome, 'elapsedMs'>> {
  const { jobs, rounds } = bySize(ctx.size, PARAMS);
  await bothTo(ctx, 1);
  // One warm-up drain each, as long as a round: JIT, script loading, connection set-up (shorter ones
  // left both sides still speeding up through the measured rounds).
  await measureThroughput(ctx, 'ours', 1, Math.min(2_000, jobs));
  await measureThroughput(ctx, 'plain', 1, Math.min(2_000, jobs));
  const oursRuns: DrainResult[] = [];
  const plainRuns: DrainResult[] = [];
  // Rounds alternate which side goes first; the ratio is the median of each round's pair.
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      oursRuns.push(await measureThroughput(ctx, 'ours', 1, jobs));
      plainRuns.push(await measureThroughput(ctx, 'plain', 1, jobs));
    } else {
      plainRuns.push(await measureThroughput(ctx, 'plain', 1, jobs));
      oursRuns.push(await measureThroughput(ctx, 'ours', 1, jobs));
    }
    ctx.log(
      `B1 round ${round + 1}: ours ${Math.round(oursRuns.at(-1)!.jobsPerS)} jobs/s, plain ${Math.round(plainRuns.at(-1)!.jobsPerS)} jobs/s`,
    );
  }
  ctx.memo.set(`drains:1:${jobs}`, { ours: oursRuns, plain: plainRuns });
  const oursRate = median(oursRuns.map((r) => r.jobsPerS));
  const plainRate = median(plainRuns.map((r) => r.jobsPerS));
  const failed = oursRuns.reduce((n, r) => n + r.failed, 0) + plainRuns.reduce((n, r) => n + r.failed, 0);
  const cmds = (runs: DrainResult[]) => {
    const values = runs.map((r) => r.redisCommandsPerJob).filter((v): v is number => v !== null);
    return values.length ? median(values) : null;
  };
  const cpu = (runs: DrainResult[], name: string) => median(runs.map((r) => r.cpuMsPerJob[name] ?? 0));
  const r = median(oursRuns.map((o, i) => o.jobsPerS / plainRuns[i]!.jobsPerS));
  return {
    id: 'B1',
    title: 'queue throughput',
    ours: `1 worker process (apps/worker, WORKER_CONCURRENCY=${CONCURRENCY}), mock/echo (0 ms), ${jobs} jobs per round, median of ${rounds}.`,
    baseline: `1 plain BullMQ Worker process with a no-op processor, same Redis, payloads, job options, count and concurrency.`,
    rows: [
      {
        figure: 'jobs/s, 1 worker process',
        unit: 'jobs/s',
        ours: oursRate,
        baseline: plainRate,
        ratio: r,
        target: '>= 0.7',
        pass: r >= 0.7 && failed === 0,
        note: `ratio: median of ${rounds} back-to-back pairs (${oursRuns.map((o, i) => (o.jobsPerS / plainRuns[i]!.jobsPerS).toFixed(2)).join(', ')})${failed ? `; ${failed} jobs failed` : ''}`,
      },
      {
        figure: 'worker CPU per job',
        unit: 'ms',
        ours: cpu(oursRuns, 'worker'),
        baseline: cpu(plainRuns, 'worker'),
        ratio: ratio(cpu(oursRuns, 'worker'), cpu(plainRuns, 'worker')),
        target: 'info',
        pass: null,
      },
      {
        figure: 'redis-server CPU per job',
        unit: 'ms',
        ours: cpu(oursRuns, 'redis-server'),
        baseline: cpu(plainRuns, 'redis-server'),
        ratio: ratio(cpu(oursRuns, 'redis-server'), cpu(plainRuns, 'redis-server')),
        target: 'info',
        pass: null,
      },
      {
        figure: 'Redis commands per job',
        unit: 'cmds',
        ours: cmds(oursRuns),
        baseline: cmds(plainRuns),
        ratio: ratio(cmds(oursRuns), cmds(plainRuns)),
        target: 'info',
        pass: null,
        note: 'commands Redis executed per job, inside Lua scripts included (INFO commandstats over the drain; the private Redis serves only the bench; ~20 polling commands/s included)',
      },
    ],
    details: { jobs, rounds, ours: oursRuns, plain: plainRuns },
  };
}
