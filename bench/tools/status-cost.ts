/**
 * CPU per `GET /v1/providers/status` of one API process started as B4 starts its four (B4's env,
 * every provider at a mock server set to hang, no prober in the API), against one process of B4's
 * floor (bench/procs/constant-status.ts answering our body as a constant), alternating rounds. By
 * default each is offered B4's share per process (1,000 req/s over 4: 250 req/s, evenly spaced, from
 * this process, as B4's open loop); rate 0 drives autocannon closed loop instead. Also prints each
 * side's idle CPU (ms per second with no load), which B4 charges to the requests too.
 *
 *   npx tsx bench/tools/status-cost.ts [rate=250] [seconds=5] [rounds=3]
 *
 * BENCH_CPU_PROF_DIR=<dir> makes both processes write a CPU profile on exit (bench/lib/processes.ts).
 * Uses REDIS_URL (default redis://127.0.0.1:6379) under a fresh namespace, and removes it after.
 */
import { execFile, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { deleteNamespace, freePort, testNamespace } from '@switchyard/shared/testing';
import { PROVIDERS, providerEnv } from '../b4-status.ts';
import { envVar } from '../lib/env.ts';
import { JsonClient } from '../lib/http-client.ts';
import { RemoteMock } from '../lib/mock.ts';
import { openLoop } from '../lib/open-loop.ts';
import { baseEnv, cpuMsOf, REPO_ROOT, sleep, startApi, startBenchProc, stopAll } from '../lib/processes.ts';
import { summarize } from '../lib/stats.ts';

const rate = Number(process.argv[2] ?? 250);
const seconds = Number(process.argv[3] ?? 5);
const rounds = Number(process.argv[4] ?? 3);
const WARM_S = 4;
const IDLE_S = 3;
const redisUrl = envVar('REDIS_URL', 'redis://127.0.0.1:6379');
const namespace = testNamespace('status-cost');

interface Round {
  usPerRequest: number;
  /** Of usPerRequest, the part spent in the kernel. */
  sysUsPerRequest: number;
  /** Context switches per request, over every thread of the process (V8's GC helpers too). */
  switchesPerRequest: number;
  answered: number;
  p50: number;
  p99: number;
}

const client = new JsonClient();
const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** User and system CPU ms and context switches (all threads) of `pid` so far, from /proc. */
function usage(pid: number): { userMs: number; sysMs: number; switches: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  let switches = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      const status = readFileSync(`/proc/${pid}/task/${task}/status`, 'utf8');
      for (const m of status.matchAll(/ctxt_switches:\s+(\d+)/g)) switches += Number(m[1]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return { userMs: Number(fields[11]) * TICK_MS, sysMs: Number(fields[12]) * TICK_MS, switches };
}

function perRequest(pid: number, before: ReturnType<typeof usage>, requests: number) {
  const after = usage(pid);
  return {
    usPerRequest: ((after.userMs + after.sysMs - before.userMs - before.sysMs) * 1000) / requests,
    sysUsPerRequest: ((after.sysMs - before.sysMs) * 1000) / requests,
    switchesPerRequest: (after.switches - before.switches) / requests,
  };
}

/** Loads `url` for `seconds`: the serving process's CPU per answered request, answers/s and latency. */
async function drive(url: string, pid: number, seconds: number): Promise<Round> {
  const before = usage(pid);
  if (rate > 0) {
    const load = await openLoop({
      rate,
      durationMs: seconds * 1000,
      maxInFlight: 1_000,
      drainMs: 10_000,
      send: () => client.getOk(url).then(() => {}),
    });
    if (load.failed || load.dropped) throw new Error(`${load.failed} failed, ${load.dropped} dropped: ${load.firstError}`);
    const latency = summarize(load.latencies);
    return { ...perRequest(pid, before, load.completed), answered: load.achievedRate, p50: latency.p50, p99: latency.p99 };
  }
  const { stdout } = await promisify(execFile)(
    resolve(REPO_ROOT, 'node_modules/.bin/autocannon'),
    ['-j', '-c', '16', '-d', String(seconds), url],
    {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const result = JSON.parse(stdout) as {
    requests: { total: number };
    latency: { p50: number; p99: number };
    non2xx: number;
    errors: number;
  };
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return {
    ...perRequest(pid, before, result.requests.total),
    answered: result.requests.total / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
  };
}

const mock = await RemoteMock.start();
const procs = [];
try {
  await mock.setFaults([{ provider: '*', fault: 'hang' }]);
  const api = await startApi('status-cost-api', baseEnv(redisUrl, namespace, providerEnv(mock)));
  procs.push(api);
  const oursUrl = `${api.url}/v1/providers/status`;
  const body = await client.getOk(oursUrl, 10_000);
  const floorPort = await freePort();
  const floor = await startBenchProc('status-cost-floor', 'bench/procs/constant-status.ts', { PORT: String(floorPort), BODY: body });
  procs.push(floor);
  const sides = {
    ours: { url: oursUrl, pid: api.pid },
    floor: { url: `http://127.0.0.1:${floorPort}/v1/providers/status`, pid: floor.pid },
  };
  console.log(
    `ours pid ${api.pid}, floor pid ${floor.pid}; ${PROVIDERS.length} providers hanging; ${rate > 0 ? `${rate} req/s open loop` : 'closed loop, 16 connections'}, ${seconds} s rounds`,
  );
  for (const side of Object.values(sides)) await drive(side.url, side.pid, WARM_S);
  const idle: Record<string, number> = {};
  const idle0 = Object.fromEntries(Object.entries(sides).map(([name, s]) => [name, cpuMsOf(s.pid)]));
  await sleep(IDLE_S * 1000);
  for (const [name, s] of Object.entries(sides)) idle[name] = (cpuMsOf(s.pid) - (idle0[name] ?? 0)) / IDLE_S;
  console.log(`idle: ours ${idle.ours?.toFixed(1)} ms CPU/s, floor ${idle.floor?.toFixed(1)} ms CPU/s`);
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? (['ours', 'floor'] as const) : (['floor', 'ours'] as const);
    const out: Partial<Record<'ours' | 'floor', Round>> = {};
    for (const name of order) out[name] = await drive(sides[name].url, sides[name].pid, seconds);
    const o = out.ours as Round;
    const f = out.floor as Round;
    const line = (r: Round) =>
      `${r.usPerRequest.toFixed(1)} µs CPU/request (system ${r.sysUsPerRequest.toFixed(1)}, ${r.switchesPerRequest.toFixed(2)} context switches; ${Math.round(r.answered)} req/s, p50 ${r.p50.toFixed(2)} p99 ${r.p99.toFixed(2)} ms)`;
    console.log(`round ${round + 1}: ours ${line(o)}, floor ${line(f)}, ratio ${(o.usPerRequest / f.usPerRequest).toFixed(2)}`);
  }
} finally {
  client.close();
  await stopAll(procs);
  await mock.clearFaults().catch(() => {});
  await mock.close();
  await deleteNamespace(redisUrl, namespace).catch(() => {});
}
