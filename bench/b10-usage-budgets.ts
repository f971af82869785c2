/**
 * B10 usage and budgets at intake: CPU per `POST /v1/jobs` of an API process whose fleet config names
 * a client with daily and monthly caps (its key authenticates the request, the job carries the
 * client's name, the budget check runs as one Lua script per request) against the same API process
 * without a config (API_KEYS only, no check). Both get the same load (autocannon, closed loop, the
 * same connections and duration), rounds alternating; no workers run, so only intake is measured.
 * The spend is never near the caps, so every request takes the whole path. Target: <= 5% more CPU
 * per request. The worker's side (one pipelined write per finished job) is not part of this figure.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BenchContext, bySize } from './lib/context.ts';
import { httpLoad } from './lib/http-load.ts';
import { baseEnv, cpuMsOf, startApi, stopAll } from './lib/processes.ts';
import { diffStats } from './lib/redis.ts';
import type { BenchOutcome } from './lib/results.ts';
import { median } from './lib/stats.ts';

const PARAMS = {
  tiny: { durationS: 1, rounds: 1, connections: 16 },
  quick: { durationS: 2, rounds: 2, connections: 32 },
  full: { durationS: 5, rounds: 4, connections: 32 },
};

const KEY = 'bench-usage-client-key-3f9a1c7e';
const BODY = { model: 'mock/echo', messages: [{ role: 'user', content: 'Summarise the plot of Hamlet in one sentence.' }] };
const TARGET = 1.05;

export async function run(ctx: BenchContext): Promise<Omit<BenchOutcome, 'elapsedMs'>> {
  const { durationS, rounds, connections } = bySize(ctx.size, PARAMS);
  const dir = mkdtempSync(join(tmpdir(), 'sy-bench-usage-'));
  const configFile = join(dir, 'fleet.yaml');
  writeFileSync(
    configFile,
    `deployments:\n  - { id: mock, provider: mock }\nclients:\n  - { name: bench-team, key: "\${BENCH_CLIENT_KEY}", daily_usd: 1000000, monthly_usd: 10000000 }\n`,
  );
  const common = { MOCK_PROVIDER: 'true' };
  const [withBudgets, plain] = await Promise.all([
    startApi(
      'b8-budgets',
      baseEnv(ctx.redis.url, ctx.namespace('b8budgets'), { ...common, SWITCHYARD_CONFIG: configFile, BENCH_CLIENT_KEY: KEY }),
    ),
    startApi('b8-plain', baseEnv(ctx.redis.url, ctx.namespace('b8plain'), { ...common, API_KEYS: KEY })),
  ]);
  try {
    const measure = async (api: typeof plain, seconds: number) => {
      const stats0 = ctx.redis.source === 'private' ? await ctx.redis.commandStats() : null;
      const cpu0 = cpuMsOf(api.pid);
      const load = await httpLoad({
        url: `${api.url}/v1/jobs`,
        method: 'POST',
        body: BODY,
        headers: { authorization: `Bearer ${KEY}` },
        connections,
        durationS: seconds,
      });
      const cpuMsPerRequest = (cpuMsOf(api.pid) - cpu0) / Math.max(1, load.ok);
      const stats1 = stats0 ? await ctx.redis.commandStats() : null;
      // Script calls per request: BullMQ's addJob on both sides, and on ours the budget checks.
      const scriptsPerRequest = stats0 && stats1 ? (diffStats(stats1, stats0).byCommand.evalsha ?? 0) / Math.max(1, load.ok) : null;
      return { load, cpuMsPerRequest, scriptsPerRequest };
    };
    await measure(withBudgets, 1);
    await measure(plain, 1);
    const ours: Array<Awaited<ReturnType<typeof measure>>> = [];
    const base: typeof ours = [];
    for (let round = 0; round < rounds; round++) {
      const pair = round % 2 === 0 ? [withBudgets, plain] : [plain, withBudgets];
      for (const api of pair) (api === withBudgets ? ours : base).push(await measure(api, durationS));
      ctx.log(
        `B10 round ${round + 1}: budgets ${ours.at(-1)!.cpuMsPerRequest.toFixed(3)} ms CPU/req, plain ${base.at(-1)!.cpuMsPerRequest.toFixed(3)}`,
      );
    }
    const ratios = ours.map((o, i) => o.cpuMsPerRequest / Math.max(1e-9, base[i]!.cpuMsPerRequest));
    const r = median(ratios);
    const errors = [...ours, ...base].reduce((n, m) => n + m.load.non2xx + m.load.errors, 0);
    return {
      id: 'B10',
      title: 'usage and budgets at intake',
      ours: `POST /v1/jobs with a config client's key (budget check: one Lua script per request), one API process, autocannon ${connections} connections × ${durationS} s, ${rounds} rounds alternating.`,
      baseline: 'the same API process without a fleet config (API_KEYS only: no client, no budget check), same Redis and load.',
      rows: [
        {
          figure: 'API process CPU per request',
          unit: 'ms',
          ours: median(ours.map((o) => o.cpuMsPerRequest)),
          baseline: median(base.map((b) => b.cpuMsPerRequest)),
          ratio: r,
          target: `<= ${TARGET}`,
          pass: r <= TARGET && errors === 0,
          note: `ratio: median of ${rounds} back-to-back pairs (${ratios.map((x) => x.toFixed(3)).join(', ')})${errors ? `; ${errors} non-2xx answers or errors` : ''}`,
        },
        {
          figure: 'POST /v1/jobs requests/s',
          unit: 'req/s',
          ours: median(ours.map((o) => o.load.okPerS)),
          baseline: median(base.map((b) => b.load.okPerS)),
          ratio: median(ours.map((o, i) => o.load.okPerS / Math.max(1e-9, base[i]!.load.okPerS))),
          target: 'info',
          pass: null,
        },
        ...(ours.every((o) => o.scriptsPerRequest !== null)
          ? [
              {
                figure: 'Lua script calls per request (EVALSHA: BullMQ addJob, and on ours the budget checks)',
                unit: 'calls',
                ours: median(ours.map((o) => o.scriptsPerRequest ?? 0)),
                baseline: median(base.map((b) => b.scriptsPerRequest ?? 0)),
                ratio: null,
                target: 'info',
                pass: null,
                note: 'the difference is the budget checks per request: one per client per event-loop turn, shared by the requests of that turn',
              },
            ]
          : []),
      ],
      details: { durationS, rounds, connections, ours, baseline: base },
    };
  } finally {
    await stopAll([withBudgets, plain]);
    rmSync(dir, { recursive: true, force: true });
  }
}
