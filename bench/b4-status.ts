/**
 * B4 provider status: `GET /v1/providers/status` at 1,000 requests/s (open loop, evenly spaced, round
 * robin over 4 API processes as a load balancer would) with every provider down (the mock server
 * lets every upstream call hang, so each probe runs into PROBE_TIMEOUT_MS), and the upstream probes
 * the mock server receives, timed to 20 ms, per provider: the most that fall within any one fresh
 * window (STATUS_FRESH_MS).
 * Floor: the same layout answering a constant (bench/procs/constant-status.ts), what the machine and
 * the load generator cost before any status logic. Targets, as ratios in one run (issue 22): p99 <=
 * 2x the floor's and CPU per request (summed over the serving processes) <= 1.3x the floor's; and
 * exactly 1 probe per provider per window across the 4 processes.
 * Baseline: the same 4-process layout serving bench/procs/naive-status.ts, a per-process cache that
 * probes synchronously when its entry expires (what such an endpoint usually starts as), as info.
 * Each of the three runs alone, with the same load and probe recorder.
 */

import { freePort } from '@switchyard/shared/testing';
import { type BenchContext, bySize } from './lib/context.ts';
import { sharedMock } from './lib/fleet.ts';
import { JsonClient } from './lib/http-client.ts';
import type { RemoteMock } from './lib/mock.ts';
import { type OpenLoopResult, openLoop } from './lib/open-loop.ts';
import { type ApiProc, baseEnv, cpuMsOf, type Proc, sleep, startApi, startBenchProc, startInBatches, stopAll } from './lib/processes.ts';
import { type BenchOutcome, ratio } from './lib/results.ts';
import { type LatencySummary, summarize } from './lib/stats.ts';

const PARAMS = {
  tiny: { apis: 2, rate: 200, durationS: 2, warmS: 1 },
  quick: { apis: 4, rate: 1_000, durationS: 5, warmS: 4 },
  full: { apis: 4, rate: 1_000, durationS: 15, warmS: 5 },
};
const FRESH_MS = 1_000;
const PROBE_TIMEOUT_MS = 300;
export const PROVIDERS = ['openai', 'anthropic', 'gemini', 'ollama'] as const;
/** Probe arrivals are known to this (plus one admin round trip); ours come ~FRESH_MS + PROBE_TIMEOUT_MS apart. */
const POLL_MS = 20;
/** The targets, as multiples of the floor's figures in the same run. */
const P99_OVER_FLOOR = 2;
const CPU_OVER_FLOOR = 1.3;

/** B4's provider settings for our API processes: every provider at the mock server (which B4 sets to hang). */
export function providerEnv(mock: RemoteMock): Record<string, string> {
  return {
    MOCK_PROVIDER: 'false',
    OPENAI_API_KEY: 'sk-bench0000000000000000000000',
    OPENAI_BASE_URL: mock.baseUrls.openai,
    ANTHROPIC_API_KEY: 'sk-ant-bench000000000000000000000',
    ANTHROPIC_BASE_URL: mock.baseUrls.anthropic,
    GEMINI_API_KEY: `AIza${'0'.repeat(35)}`,
    GEMINI_BASE_URL: mock.baseUrls.gemini,
    OLLAMA_BASE_URL: mock.baseUrls.ollama,
    STATUS_FRESH_MS: String(FRESH_MS),
    STATUS_STALE_MS: '600000',
    PROBE_TIMEOUT_MS: String(PROBE_TIMEOUT_MS),
  };
}

/** Records when each upstream probe arrived at the mock server (polling its exact counters every POLL_MS). */
function probeRecorder(mock: RemoteMock) {
  const arrivals: Record<string, number[]> = {};
  let last: Record<string, number> = {};
  const t0 = performance.now();
  const poll = async () => {
    const stats = (await mock.stats()).byEndpoint;
    const now = performance.now() - t0;
    for (const provider of PROVIDERS) {
      const received = stats[`${provider}:models`]?.received ?? 0;
      const before = last[provider] ?? 0;
      const times = arrivals[provider] ?? [];
      arrivals[provider] = times;
      for (let i = before; i < received; i++) times.push(now);
    }
    last = Object.fromEntries(PROVIDERS.map((p) => [p, stats[`${p}:models`]?.received ?? 0]));
  };
  // One poll at a time, every POLL_MS.
  let running = true;
  const loop = (async () => {
    while (running) {
      await poll();
      await sleep(POLL_MS);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await poll();
      const total = Object.fromEntries(PROVIDERS.map((p) => [p, arrivals[p]?.length ?? 0]));
      // The most probes of one provider inside any window of FRESH_MS.
      let maxInWindow = 0;
      for (const times of Object.values(arrivals)) {
        let start = 0;
        for (let end = 0; end < times.length; end++) {
          while (times[end]! - times[start]! >= FRESH_MS) start++;
          maxInWindow = Math.max(maxInWindow, end - start + 1);
        }
      }
      return { total, maxInWindow, arrivalsMs: arrivals };
    },
  };
}

interface Side {
  load: OpenLoopResult;
  latency: LatencySummary;
  /** CPU ms per answered request, summed over the serving processes. */
  cpuMsPerRequest: number;
  probes: Awaited<ReturnType<ReturnType<typeof probeRecorder>['stop']>>;
  /** One answer from the warm-up, as the constant the floor's processes serve. */
  lastBody: string;
}

/**
 * Open loop, one request every 1/rate s round robin over the processes (as a load balancer would),
 * latency from each request's scheduled start. autocannon's `overallRate` is not used here: it
 * releases each connection's requests on shared timer ticks, so they arrive in bursts; against 4
 * processes answering a constant it measured p50 3.6 ms and p99 27.5 ms at 1,000 req/s on this
 * machine, against 1.0 and 6.6 ms for this evenly spaced schedule.
 */
function statusLoad(client: JsonClient, urls: string[], rate: number, durationS: number): Promise<OpenLoopResult> {
  return openLoop({
    rate,
    durationMs: durationS * 1000,
    maxInFlight: 1_000,
    drainMs: 10_000,
    send: async (i) => {
      await client.getOk(`${urls[i % urls.length]}/v1/providers/status`, 10_000);
    },
  });
}

async function measure(
  client: JsonClient,
  mock: RemoteMock,
  urls: string[],
  pids: number[],
  rate: number,
  durationS: number,
  warmS: number,
): Promise<Side> {
  // Warm-up: every process answers once (the first answer may wait for a probe), then `warmS` of the
  // same load so V8 has optimized every side's code before anything is measured. One second was too
  // short for our API processes, still compiling under tsx after /readyz answered: quick runs
  // measured p99 16-20 ms after 1 s against 11.3 ms after 4 s (floor 6-9 ms either way).
  const bodies = await Promise.all(
    urls.map((u) =>
      client.getOk(`${u}/v1/providers/status`, 10_000).catch((err: Error) => {
        throw new Error(`GET ${u}/v1/providers/status failed: ${err.message}`);
      }),
    ),
  );
  await statusLoad(client, urls, rate, warmS);
  await mock.resetStats();
  const recorder = probeRecorder(mock);
  const cpu0 = pids.reduce((n, pid) => n + cpuMsOf(pid), 0);
  const load = await statusLoad(client, urls, rate, durationS);
  const cpuMsPerRequest = (pids.reduce((n, pid) => n + cpuMsOf(pid), 0) - cpu0) / Math.max(1, load.completed);
  await sleep(PROBE_TIMEOUT_MS + 100);
  return { load, latency: summarize(load.latencies), cpuMsPerRequest, probes: await recorder.stop(), lastBody: bodies[0] ?? '{}' };
}

/** What goes into latest.json of one side: summaries, not the raw samples. */
function brief(s: Side) {
  return {
    latency: s.latency,
    achievedRate: s.load.achievedRate,
    failed: s.load.failed,
    dropped: s.load.dropped,
    cpuMsPerRequest: s.cpuMsPerRequest,
    probes: s.probes,
  };
}

export async function run(ctx: BenchContext): Promise<Omit<BenchOutcome, 'elapsedMs'>> {
  const { apis, rate, durationS, warmS } = bySize(ctx.size, PARAMS);
  const mock = await sharedMock(ctx);
  await mock.setFaults([{ provider: '*', fault: 'hang' }]);
  const namespace = ctx.namespace('status');
  const env = baseEnv(ctx.redis.url, namespace, providerEnv(mock));
  const probeUrls = {
    openai: `${mock.baseUrls.openai}/models`,
    anthropic: `${mock.baseUrls.anthropic}/v1/models`,
    gemini: `${mock.baseUrls.gemini}/v1beta/models`,
    ollama: `${mock.baseUrls.ollama}/api/tags`,
  };
  const procs: Proc[] = [];
  const client = new JsonClient();
  // Each side runs alone: only the processes being measured are alive while their load runs.
  const side = async (start: () => Promise<Proc[]>, urlsOf: (started: Proc[]) => string[]): Promise<Side & { urls: string[] }> => {
    const started = await start();
    procs.push(...started);
    try {
      const urls = urlsOf(started);
      const measured = await measure(
        client,
        mock,
        urls,
        started.map((p) => p.pid),
        rate,
        durationS,
        warmS,
      );
      return { ...measured, urls };
    } finally {
      await stopAll(started);
    }
  };
  const freePorts = () => Promise.all(Array.from({ length: apis }, () => freePort()));
  try {
    const ours = await side(
      () => startInBatches(apis, (i) => startApi(`status-api-${i + 1}`, env)),
      (started) => (started as ApiProc[]).map((a) => a.url),
    );
    ctx.log(
      `B4 ours: p50 ${ours.latency.p50.toFixed(2)} p99 ${ours.latency.p99.toFixed(2)} ms, probes ${JSON.stringify(ours.probes.total)}, max per window ${ours.probes.maxInWindow}`,
    );
    const body = ours.lastBody;
    const naivePorts = await freePorts();
    const naive = await side(
      () =>
        startInBatches(apis, (i) =>
          startBenchProc(`naive-status-${i + 1}`, 'bench/procs/naive-status.ts', {
            PORT: String(naivePorts[i]),
            STATUS_FRESH_MS: String(FRESH_MS),
            PROBE_TIMEOUT_MS: String(PROBE_TIMEOUT_MS),
            PROBES: JSON.stringify(probeUrls),
          }),
        ),
      () => naivePorts.map((p) => `http://127.0.0.1:${p}`),
    );
    ctx.log(
      `B4 naive: p50 ${naive.latency.p50.toFixed(2)} p99 ${naive.latency.p99.toFixed(2)} ms, probes ${JSON.stringify(naive.probes.total)}, max per window ${naive.probes.maxInWindow}`,
    );
    // The floor: the same layout, load and probe recorder against processes answering our body as a constant.
    const floorPorts = await freePorts();
    const floorSide = await side(
      () =>
        startInBatches(apis, (i) =>
          startBenchProc(`constant-status-${i + 1}`, 'bench/procs/constant-status.ts', { PORT: String(floorPorts[i]), BODY: body }),
        ),
      () => floorPorts.map((p) => `http://127.0.0.1:${p}`),
    );
    const floor = floorSide.latency;
    ctx.log(
      `B4 floor (constant answer): p50 ${floor.p50.toFixed(2)} p99 ${floor.p99.toFixed(2)} ms, ${floorSide.cpuMsPerRequest.toFixed(3)} ms CPU per request`,
    );
    const errors = ours.load.failed + ours.load.dropped;
    const floorErrors = floorSide.load.failed + floorSide.load.dropped;
    const oursProbes = Object.values(ours.probes.total).reduce((a, b) => a + b, 0);
    const p99Ratio = ratio(ours.latency.p99, floor.p99);
    const cpuRatio = ratio(ours.cpuMsPerRequest, floorSide.cpuMsPerRequest);
    const floorName = `the floor (${apis} processes answering a constant, same load)`;
    return {
      id: 'B4',
      title: 'provider status',
      ours: `GET /v1/providers/status on ${apis} API processes (apps/api; ${PROVIDERS.length} providers, all hanging; STATUS_FRESH_MS=${FRESH_MS}, PROBE_TIMEOUT_MS=${PROBE_TIMEOUT_MS}), ${rate} req/s for ${durationS} s.`,
      baseline: `for the p99 and CPU targets, the floor: ${apis} processes answering our status body as a constant on bare node:http (bench/procs/constant-status.ts); for p50, the other p99 row and the probes: ${apis} processes of a per-process status cache that probes on expiry (bench/procs/naive-status.ts). Same providers, load and settings; each side alone.`,
      rows: [
        {
          figure: `status p50 at ${rate} req/s, every provider down`,
          unit: 'ms',
          ours: ours.latency.p50,
          baseline: naive.latency.p50,
          ratio: ratio(ours.latency.p50, naive.latency.p50),
          target: 'info',
          pass: null,
          note: 'against the naive per-process cache',
        },
        {
          figure: `status p99 at ${rate} req/s, every provider down, against ${floorName}`,
          unit: 'ms',
          ours: ours.latency.p99,
          baseline: floor.p99,
          ratio: p99Ratio,
          target: `<= ${P99_OVER_FLOOR.toFixed(1)}`,
          pass: p99Ratio !== null && p99Ratio <= P99_OVER_FLOOR && errors === 0 && floorErrors === 0,
          note: `open loop, latency from each request's scheduled start; floor p50 ${floor.p50.toFixed(2)} ms (bench/procs/constant-status.ts on node:http): what the machine and the load generator cost before any status logic; ${Math.round(ours.load.achievedRate)} vs ${Math.round(floorSide.load.achievedRate)} answers/s achieved${errors ? `; ${errors} of ours failed or dropped` : ''}${floorErrors ? `; ${floorErrors} of the floor's failed or dropped` : ''}`,
        },
        {
          figure: `status p99 at ${rate} req/s, every provider down, against the naive per-process cache`,
          unit: 'ms',
          ours: ours.latency.p99,
          baseline: naive.latency.p99,
          ratio: ratio(ours.latency.p99, naive.latency.p99),
          target: 'info',
          pass: null,
          note: `${Math.round(ours.load.achievedRate)} vs ${Math.round(naive.load.achievedRate)} answers/s achieved`,
        },
        {
          figure: `CPU per status request (all ${apis} serving processes), against ${floorName}`,
          unit: 'ms',
          ours: ours.cpuMsPerRequest,
          baseline: floorSide.cpuMsPerRequest,
          ratio: cpuRatio,
          target: `<= ${CPU_OVER_FLOOR.toFixed(1)}`,
          pass: cpuRatio !== null && cpuRatio <= CPU_OVER_FLOOR && errors === 0 && floorErrors === 0,
          note: `user + system CPU of the serving processes (/proc) over the measured load, per answered request; the naive per-process cache ${naive.cpuMsPerRequest.toFixed(3)} ms (ours ${ratio(ours.cpuMsPerRequest, naive.cpuMsPerRequest)?.toFixed(2) ?? '–'}x)`,
        },
        {
          figure: `upstream probes per provider per fresh window, ${apis} processes`,
          unit: 'probes',
          ours: ours.probes.maxInWindow,
          baseline: naive.probes.maxInWindow,
          ratio: ratio(ours.probes.maxInWindow, naive.probes.maxInWindow),
          target: 'exactly 1',
          pass: ours.probes.maxInWindow === 1,
          note:
            oursProbes === 0
              ? 'our API processes sent no probe at all: the status cache has no prober (apps/api/src/main.ts passes none to createApiContext), so it serves only what workers report'
              : `most probes of one provider within any ${FRESH_MS} ms; totals over ${durationS} s: ours ${JSON.stringify(ours.probes.total)}, baseline ${JSON.stringify(naive.probes.total)}`,
        },
      ],
      details: {
        apis,
        rate,
        durationS,
        warmS,
        freshMs: FRESH_MS,
        probeTimeoutMs: PROBE_TIMEOUT_MS,
        ours: brief(ours),
        naive: brief(naive),
        floor: brief(floorSide),
      },
    };
  } finally {
    client.close();
    await stopAll(procs);
    await mock.clearFaults();
  }
}
