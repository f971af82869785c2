/**
 * B7 scaling: B1 with 1, 2 and 4 worker processes, ours and plain BullMQ side by side: jobs/s
 * against the number of processes, and the scaling efficiency (jobs/s at N over jobs/s at 1). On
 * a 2-core machine N > 2 cannot add CPU; what the curve shows is where the work goes (worker CPU,
 * redis-server CPU, Redis commands per job, all in latest.json).
 */

import { type BenchContext, bySize } from './lib/context.ts';
import { WORKER_CONCURRENCY as CONCURRENCY } from './lib/fleet.ts';
import type { DrainResult } from './lib/queue.ts';
import type { BenchOutcome, Row } from './lib/results.ts';
import { median } from './lib/stats.ts';
import { bothTo, measureThroughput } from './lib/throughput.ts';

const PARAMS = {
  tiny: { jobs: 200, rounds: 1, workers: [1, 2] },
  quick: { jobs: 2_000, rounds: 1, workers: [1, 2, 4] },
  full: { jobs: 10_000, rounds: 2, workers: [1, 2, 4] },
};

export async function run(ctx: BenchContext): Promise<Omit<BenchOutcome, 'elapsedMs'>> {
  const { jobs, rounds, workers } = bySize(ctx.size, PARAMS);
  const byN: Array<{ n: number; ours: DrainResult[]; plain: DrainResult[]; fromB1?: boolean }> = [];
  for (const n of workers) {
    // B1 measured one process in this run with the same job count: its drains are reused.
    const fromB1 = ctx.memo.get(`drains:${n}:${jobs}`) as { ours: DrainResult[]; plain: DrainResult[] } | undefined;
    if (fromB1) {
      byN.push({ n, ours: fromB1.ours, plain: fromB1.plain, fromB1: true });
      continue;
    }
    await bothTo(ctx, n);
    const entry = { n, ours: [] as DrainResult[], plain: [] as DrainResult[] };
    await measureThroughput(ctx, 'ours', n, Math.min(2_000, jobs));
    await measureThroughput(ctx, 'plain', n, Math.min(2_000, jobs));
    for (let round = 0; round < rounds; round++) {
      entry.ours.push(await measureThroughput(ctx, 'ours', n, jobs));
      entry.plain.push(await measureThroughput(ctx, 'plain', n, jobs));
    }
    ctx.log(
      `B7 N=${n}: ours ${Math.round(median(entry.ours.map((r) => r.jobsPerS)))} jobs/s, plain ${Math.round(median(entry.plain.map((r) => r.jobsPerS)))} jobs/s`,
    );
    byN.push(entry);
  }
  const rate = (runs: DrainResult[]) => median(runs.map((r) => r.jobsPerS));
  const base = byN[0]!;
  const rows: Row[] = [];
  for (const entry of byN) {
    // As in B1: the median of the back-to-back pairs' ratios.
    const r = median(entry.ours.map((o, i) => o.jobsPerS / entry.plain[i]!.jobsPerS));
    rows.push({
      figure: `jobs/s, ${entry.n} worker process${entry.n > 1 ? 'es' : ''}`,
      unit: 'jobs/s',
      ours: rate(entry.ours),
      baseline: rate(entry.plain),
      ratio: r,
      target: '>= 0.7 (as B1)',
      pass: r >= 0.7,
      ...(entry.fromB1 ? { note: "B1's drains of this run" } : {}),
    });
  }
  for (const entry of byN.slice(1)) {
    rows.push({
      figure: `scaling ${entry.n} vs 1 process`,
      unit: 'x',
      ours: rate(entry.ours) / rate(base.ours),
      baseline: rate(entry.plain) / rate(base.plain),
      ratio: null,
      target: 'info',
      pass: null,
    });
  }
  return {
    id: 'B7',
    title: 'worker scaling',
    ours: `N of our worker processes (WORKER_CONCURRENCY=${CONCURRENCY} each), mock/echo, ${jobs} jobs per measurement.`,
    baseline: 'N plain BullMQ Worker processes (no-op), same queue payloads, options and concurrency.',
    rows,
    details: { jobs, rounds, byN },
  };
}
