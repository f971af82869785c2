/**
 * `pnpm bench [-- flags]`: runs B1..B7 (issue 9), B8 (routes over deployments, issue 19), B9 (against
 * Portkey's gateway, issue 22) and B10 (usage and budgets, issue 21), each comparing ours with a
 * baseline measured in the same run, and writes bench/results/latest.md and latest.json.
 *
 *   --quick            short run (about 4 minutes on a 2-core machine)
 *   --full             longer run, more samples (the default)
 *   --tiny             seconds-long smoke run (used by test/bench-smoke.test.ts)
 *   --only=b1,b3       run only these benchmarks
 *   --redis=private    a private redis-server for the run (default when redis-server is on PATH)
 *   --redis=env        REDIS_URL instead
 *   --out=DIR          where latest.md / latest.json go (default bench/results)
 *
 * Everything stops by itself: each benchmark has a deadline, and a whole-run deadline kills what
 * is left. Child processes never outlive the run.
 */
import { resolve } from 'node:path';
import { hasBinary } from '@switchyard/shared';
import { run as b1 } from './b1-queue-throughput.ts';
import { run as b2 } from './b2-api-intake.ts';
import { run as b3 } from './b3-facade-overhead.ts';
import { run as b4 } from './b4-status.ts';
import { run as b5 } from './b5-breaker-convergence.ts';
import { run as b6 } from './b6-hedging-tail.ts';
import { run as b7 } from './b7-worker-scaling.ts';
import { run as b8 } from './b8-routing.ts';
import { run as b9 } from './b9-portkey.ts';
import { run as b10 } from './b10-usage-budgets.ts';
import { type BenchContext, createContext, type Size } from './lib/context.ts';
import { REPO_ROOT } from './lib/processes.ts';
import { openBenchRedis } from './lib/redis.ts';
import { type BenchOutcome, currentLoad, gitCommit, machine, type RunInfo, writeResults } from './lib/results.ts';

type BenchFn = (ctx: BenchContext) => Promise<Omit<BenchOutcome, 'elapsedMs'>>;

/**
 * Run order, chosen so the shared worker pool only grows where it must: B2 needs no workers, B3, B9 and
 * B6 one, B1 one, B7 one to four, B5 eight then four then one; B8 runs its own two API + worker
 * pairs (one with a fleet config file, one without). The table is sorted by id.
 */
const BENCHES: Array<{ id: string; title: string; fn: BenchFn }> = [
  { id: 'B2', title: 'API intake', fn: b2 },
  { id: 'B10', title: 'usage and budgets at intake', fn: b10 },
  { id: 'B3', title: 'facade overhead', fn: b3 },
  { id: 'B9', title: 'against Portkey', fn: b9 },
  { id: 'B6', title: 'hedging and the tail', fn: b6 },
  { id: 'B1', title: 'queue throughput', fn: b1 },
  { id: 'B7', title: 'worker scaling', fn: b7 },
  { id: 'B5', title: 'breaker convergence', fn: b5 },
  { id: 'B4', title: 'provider status', fn: b4 },
  { id: 'B8', title: 'routes over deployments', fn: b8 },
];

const DEADLINE_MS: Record<Size, { bench: number; run: number }> = {
  tiny: { bench: 60_000, run: 90_000 },
  // B9's ladder (to 1,600 / 2,000 req/s, three rounds at its 60% rung) is the longest benchmark.
  quick: { bench: 240_000, run: 600_000 },
  full: { bench: 600_000, run: 2_400_000 },
};

function parseArgs(argv: string[]) {
  let size: Size = 'full';
  let only: string[] | undefined;
  let redis: 'private' | 'env' = hasBinary('redis-server') ? 'private' : 'env';
  let out = resolve(REPO_ROOT, 'bench/results');
  for (const arg of argv) {
    if (arg === '--') continue;
    else if (arg === '--quick') size = 'quick';
    else if (arg === '--full') size = 'full';
    else if (arg === '--tiny') size = 'tiny';
    else if (arg.startsWith('--only='))
      only = arg
        .slice(7)
        .split(',')
        .map((s) => s.trim().toUpperCase());
    else if (arg === '--redis=env' || arg === '--redis=private') redis = arg.slice(8) as 'private' | 'env';
    else if (arg.startsWith('--out=')) out = resolve(arg.slice(6));
    else {
      process.stderr.write(
        `unknown flag ${arg}\nusage: pnpm bench [-- --quick|--full|--tiny] [--only=b1,b2] [--redis=private|env] [--out=DIR]\n`,
      );
      process.exit(2);
    }
  }
  return { size, only, redis, out };
}

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} overran its ${Math.round(ms / 1000)} s deadline`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const args = parseArgs(process.argv.slice(2));
const log = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const deadlines = DEADLINE_MS[args.size];
const runTimer = setTimeout(() => {
  log(`the whole run overran ${deadlines.run / 1000} s; stopping`);
  process.exit(1);
}, deadlines.run);
runTimer.unref();

const selected = BENCHES.filter((b) => !args.only || args.only.includes(b.id));
const startedAt = new Date();
// The code measured is what the tree held at the start; a commit made during the run is named too.
const commitAtStart = gitCommit(REPO_ROOT);
const loadavgStart = currentLoad();
const loadSamples: number[] = [loadavgStart[0]!];
const sampler = setInterval(() => loadSamples.push(currentLoad()[0]!), 5_000);
sampler.unref();

log(`size ${args.size}, redis ${args.redis}, benchmarks ${selected.map((b) => b.id).join(' ')}, load average ${loadavgStart.join(' ')}`);
const redis = await openBenchRedis(args.redis);
const ctx = createContext(args.size, redis, log);
const outcomes: BenchOutcome[] = [];
try {
  for (const bench of selected) {
    const t0 = Date.now();
    log(`${bench.id} ${bench.title}: start`);
    try {
      const outcome = await withDeadline(bench.fn(ctx), deadlines.bench, bench.id);
      outcomes.push({ ...outcome, elapsedMs: Date.now() - t0 });
      for (const row of outcome.rows) {
        log(
          `${bench.id} ${row.figure}: ours ${fmt(row.ours)} baseline ${fmt(row.baseline)} ratio ${fmt(row.ratio)} ${row.target} ${row.pass === null ? '' : row.pass ? 'pass' : 'FAIL'}`,
        );
      }
    } catch (err) {
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      log(`${bench.id} failed: ${message}`);
      outcomes.push({
        id: bench.id,
        title: bench.title,
        ours: '',
        baseline: '',
        rows: [],
        details: {},
        elapsedMs: Date.now() - t0,
        error: message,
      });
    }
  }
} finally {
  for (const shared of ctx.shared.values()) await shared.close().catch((err: Error) => log(`cleanup: ${err.message}`));
  for (const ns of ctx.namespaces) await redis.deleteNamespace(ns).catch(() => {});
  const redisVersion = await redis.client
    .info('server')
    .then((info) => /redis_version:(\S+)/.exec(String(info))?.[1] ?? 'unknown')
    .catch(() => 'unknown');
  await redis.stop();
  const info: RunInfo = {
    size: args.size,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    loadavgStart,
    loadavgEnd: currentLoad(),
    loadavgSamples: loadSamples,
    ...machine(),
    redis: redisVersion,
    redisSource: args.redis === 'private' ? 'private redis-server started for the run' : 'REDIS_URL',
    commit: ((end) => (end === commitAtStart ? end : `${commitAtStart} (${end} at the end)`))(gitCommit(REPO_ROOT)),
    argv: process.argv.slice(2),
  };
  outcomes.sort((a, b) => a.id.localeCompare(b.id));
  const written = writeResults(args.out, info, outcomes);
  log(`wrote ${written.md} and ${written.json}`);
}
const failedBenches = outcomes.filter((o) => o.error).length;
process.exit(failedBenches > 0 ? 1 : 0);

function fmt(v: number | null): string {
  return v === null || !Number.isFinite(v) ? '-' : String(Math.round(v * 1000) / 1000);
}
