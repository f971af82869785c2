/**
 * B2 API intake: `POST /v1/jobs` requests/s and latency under autocannon (closed loop, the same
 * connections and duration for both), our API process (zod validation, auth and rate-limit
 * plugins, idempotency-aware submit, the API's job options) against a bare Fastify route that only
 * enqueues to BullMQ (bench/procs/bare-intake.ts). No workers run, so only intake is measured.
 * Target: ours >= 0.8 of the bare route's requests/s.
 */

import { queuePrefix } from '@switchyard/shared';
import { freePort } from '@switchyard/shared/testing';
import { type BenchContext, bySize } from './lib/context.ts';
import { OursFleet } from './lib/fleet.ts';
import { type HttpLoadResult, httpLoad } from './lib/http-load.ts';
import { cpuMsOf, startBenchProc } from './lib/processes.ts';
import { diffStats } from './lib/redis.ts';
import { type BenchOutcome, ratio } from './lib/results.ts';
import { median } from './lib/stats.ts';

const PARAMS = {
  tiny: { durationS: 1, rounds: 1, connections: 16 },
  quick: { durationS: 2, rounds: 2, connections: 32 },
  full: { durationS: 5, rounds: 4, connections: 32 },
};

const BODY = { model: 'mock/echo', messages: [{ role: 'user', content: 'Summarise the plot of Hamlet in one sentence.' }] };

interface Measured {
  load: HttpLoadResult;
  cpuMsPerRequest: number;
  redisCommandsPerRequest: number | null;
}

export async function run(ctx: BenchContext): Promise<Omit<BenchOutcome, 'elapsedMs'>> {
  const { durationS, rounds, connections } = bySize(ctx.size, PARAMS);
  const fleet = await OursFleet.get(ctx);
  await fleet.workersTo(0);
  const port = await freePort();
  const bareNs = ctx.namespace('bare');
  const [api, bare] = await Promise.all([
    fleet.ensureApi(),
    startBenchProc('bare-intake', 'bench/procs/bare-intake.ts', {
      REDIS_URL: ctx.redis.url,
      BENCH_PREFIX: queuePrefix(bareNs),
      BENCH_QUEUE: 'plain',
      PORT: String(port),
    }),
  ]);
  const bareUrl = `http://127.0.0.1:${port}`;
  try {
    const measure = async (url: string, pid: number, seconds: number): Promise<Measured> => {
      const cpu0 = cpuMsOf(pid);
      const stats0 = ctx.redis.source === 'private' ? await ctx.redis.commandStats() : null;
      const load = await httpLoad({ url: `${url}/v1/jobs`, method: 'POST', body: BODY, connections, durationS: seconds });
      const stats1 = ctx.redis.source === 'private' ? await ctx.redis.commandStats() : null;
      const requests = Math.max(1, load.ok);
      return {
        load,
        cpuMsPerRequest: (cpuMsOf(pid) - cpu0) / requests,
        redisCommandsPerRequest: stats0 && stats1 ? diffStats(stats1, stats0).total / requests : null,
      };
    };
    // Warm-up: JIT, connection pools, script loading.
    await measure(api.url, api.pid, 1);
    await measure(bareUrl, bare.pid, 1);
    const ours: Measured[] = [];
    const base: Measured[] = [];
    // Rounds alternate which side goes first, and the ratio is the median of each round's pair:
    // the machine's load drifts, and a pair measured back to back shares most of that drift.
    for (let round = 0; round < rounds; round++) {
      if (round % 2 === 0) {
        ours.push(await measure(api.url, api.pid, durationS));
        base.push(await measure(bareUrl, bare.pid, durationS));
      } else {
        base.push(await measure(bareUrl, bare.pid, durationS));
        ours.push(await measure(api.url, api.pid, durationS));
      }
      ctx.log(
        `B2 round ${round + 1}: ours ${Math.round(ours.at(-1)!.load.okPerS)} req/s, bare ${Math.round(base.at(-1)!.load.okPerS)} req/s`,
      );
    }
    const m = (runs: Measured[], pick: (r: Measured) => number | null) => {
      const values = runs.map(pick).filter((v): v is number => v !== null && Number.isFinite(v));
      return values.length ? median(values) : null;
    };
    const rps = [m(ours, (r) => r.load.okPerS), m(base, (r) => r.load.okPerS)] as const;
    const p50 = [m(ours, (r) => r.load.latency.p50), m(base, (r) => r.load.latency.p50)] as const;
    const p99 = [m(ours, (r) => r.load.latency.p99), m(base, (r) => r.load.latency.p99)] as const;
    const cpu = [m(ours, (r) => r.cpuMsPerRequest), m(base, (r) => r.cpuMsPerRequest)] as const;
    const cmds = [m(ours, (r) => r.redisCommandsPerRequest), m(base, (r) => r.redisCommandsPerRequest)] as const;
    const errors = [...ours, ...base].reduce((n, r) => n + r.load.non2xx + r.load.errors, 0);
    const r = median(ours.map((o, i) => o.load.okPerS / Math.max(1e-9, base[i]!.load.okPerS)));
    return {
      id: 'B2',
      title: 'API intake',
      ours: `POST /v1/jobs on one API process (apps/api, RATE_LIMIT_RPM=0, no API_KEYS), autocannon ${connections} connections × ${durationS} s, ${rounds} rounds alternating with the baseline.`,
      baseline:
        'a bare Fastify route in one process that only does queue.add (no validation, auth, rate limit or idempotency), same Redis and load.',
      rows: [
        {
          figure: 'POST /v1/jobs requests/s',
          unit: 'req/s',
          ours: rps[0],
          baseline: rps[1],
          ratio: r,
          target: '>= 0.8',
          pass: r >= 0.8 && errors === 0,
          note: `ratio: median of ${rounds} back-to-back pairs (${ours.map((o, i) => (o.load.okPerS / base[i]!.load.okPerS).toFixed(2)).join(', ')})${errors ? `; ${errors} non-2xx answers or errors` : ''}`,
        },
        {
          figure: 'POST /v1/jobs p50',
          unit: 'ms',
          ours: p50[0],
          baseline: p50[1],
          ratio: ratio(p50[0], p50[1]),
          target: 'info',
          pass: null,
        },
        {
          figure: 'POST /v1/jobs p99',
          unit: 'ms',
          ours: p99[0],
          baseline: p99[1],
          ratio: ratio(p99[0], p99[1]),
          target: 'info',
          pass: null,
        },
        {
          figure: 'API process CPU per request',
          unit: 'ms',
          ours: cpu[0],
          baseline: cpu[1],
          ratio: ratio(cpu[0], cpu[1]),
          target: 'info',
          pass: null,
        },
        {
          figure: 'Redis commands per request',
          unit: 'cmds',
          ours: cmds[0],
          baseline: cmds[1],
          ratio: ratio(cmds[0], cmds[1]),
          target: 'info',
          pass: null,
        },
      ],
      details: { durationS, rounds, connections, ours, baseline: base },
    };
  } finally {
    await bare.stop();
    await fleet.emptyQueue().catch(() => {});
    await ctx.redis.deleteNamespace(bareNs).catch(() => {});
  }
}
