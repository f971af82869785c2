/**
 * B4 provider status: `GET /v1/providers/status` at 1,000 requests/s (autocannon, paced, connections
 * spread over 4 API processes as a load balancer would) with every provider down (the mock server
 * lets every upstream call hang, so each probe runs into PROBE_TIMEOUT_MS), and the upstream probes
 * the mock server receives, timed to 5 ms, per provider: the most that fall within any one fresh
 * window (STATUS_FRESH_MS). Target: p99 <= 5 ms and exactly 1 probe per provider per window across
 * the 4 processes.
 * Baseline: the same 4-process layout serving bench/procs/naive-status.ts, a per-process cache that
 * probes synchronously when its entry expires (what such an endpoint usually starts as).
 */

import { freePort } from '@switchyard/shared/testing';
import { type BenchContext, bySize } from './lib/context.ts';
import { sharedMock } from './lib/fleet.ts';
import { type HttpLoadResult, httpLoad } from './lib/http-load.ts';
import type { RemoteMock } from './lib/mock.ts';
import { type ApiProc, baseEnv, cpuMsOf, type Proc, sleep, startApi, startBenchProc, startInBatches, stopAll } from './lib/processes.ts';
import { type BenchOutcome, ratio } from './lib/results.ts';

const PARAMS = {
  tiny: { apis: 2, rate: 200, durationS: 2 },
  quick: { apis: 4, rate: 1_000, durationS: 5 },
  full: { apis: 4, rate: 1_000, durationS: 15 },
};
const FRESH_MS = 1_000;
const PROBE_TIMEOUT_MS = 300;
const PROVIDERS = ['openai', 'anthropic', 'gemini', 'ollama'] as const;

function providerEnv(mock: RemoteMock): Record<string, string> {
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

/** Records when each upstream probe arrived at the mock server (polling its exact counters every 5 ms). */
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
  // One poll at a time, every 5 ms: the arrival times are known to 5 ms (plus one admin round trip).
  let running = true;
  const loop = (async () => {
    while (running) {
      await poll();
      await sleep(5);
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
  load: HttpLoadResult;
  /** CPU ms per answered request, summed over the serving processes. */
  cpuMsPerRequest: number;
  probes: Awaited<ReturnType<ReturnType<typeof probeRecorder>['stop']>>;
}

async function measure(mock: RemoteMock, urls: string[], pids: number[], rate: number, durationS: number): Promise<Side> {
  // Warm-up: every process answers once (the first answer may wait for a probe), then the cache ages.
  await Promise.all(
    urls.map(async (u) => {
      const res = await fetch(`${u}/v1/providers/status`).catch((err: Error) => {
        throw new Error(`GET ${u}/v1/providers/status failed: ${err.message} (${String((err as { cause?: unknown }).cause)})`);
      });
      await res.arrayBuffer();
    }),
  );
  await sleep(FRESH_MS + PROBE_TIMEOUT_MS);
  await mock.resetStats();
  const recorder = probeRecorder(mock);
  const cpu0 = pids.reduce((n, pid) => n + cpuMsOf(pid), 0);
  const load = await httpLoad({
    url: urls.map((u) => `${u}/v1/providers/status`),
    connections: urls.length * 10,
    overallRate: rate,
    durationS,
  });
  const cpuMsPerRequest = (pids.reduce((n, pid) => n + cpuMsOf(pid), 0) - cpu0) / Math.max(1, load.ok);
  await sleep(PROBE_TIMEOUT_MS + 100);
  return { load, cpuMsPerRequest, probes: await recorder.stop() };
}

export async function run(ctx: BenchContext): Promise<Omit<BenchOutcome, 'elapsedMs'>> {
  const { apis, rate, durationS } = bySize(ctx.size, PARAMS);
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
  try {
    const ports = await Promise.all(Array.from({ length: apis }, () => freePort()));
    const apiProcs = await startInBatches(apis, (i) => startApi(`status-api-${i + 1}`, env));
    procs.push(...apiProcs);
    const naiveProcs = await startInBatches(apis, (i) =>
      startBenchProc(`naive-status-${i + 1}`, 'bench/procs/naive-status.ts', {
        PORT: String(ports[i]),
        STATUS_FRESH_MS: String(FRESH_MS),
        PROBE_TIMEOUT_MS: String(PROBE_TIMEOUT_MS),
        PROBES: JSON.stringify(probeUrls),
      }),
    );
    const started = [...apiProcs, ...naiveProcs];
    procs.push(...naiveProcs);
    const ourUrls = (started.slice(0, apis) as ApiProc[]).map((a) => a.url);
    const naiveUrls = ports.map((p) => `http://127.0.0.1:${p}`);
    const ours = await measure(
      mock,
      ourUrls,
      started.slice(0, apis).map((p) => p.pid),
      rate,
      durationS,
    );
    ctx.log(
      `B4 ours: p99 ${ours.load.latency.p99.toFixed(2)} ms, probes ${JSON.stringify(ours.probes.total)}, max per window ${ours.probes.maxInWindow}`,
    );
    const naive = await measure(
      mock,
      naiveUrls,
      started.slice(apis).map((p) => p.pid),
      rate,
      durationS,
    );
    ctx.log(
      `B4 naive: p99 ${naive.load.latency.p99.toFixed(2)} ms, probes ${JSON.stringify(naive.probes.total)}, max per window ${naive.probes.maxInWindow}`,
    );
    const errors = ours.load.non2xx + ours.load.errors + ours.load.timeouts;
    const oursProbes = Object.values(ours.probes.total).reduce((a, b) => a + b, 0);
    return {
      id: 'B4',
      title: 'provider status',
      ours: `GET /v1/providers/status on ${apis} API processes (apps/api; ${PROVIDERS.length} providers, all hanging; STATUS_FRESH_MS=${FRESH_MS}, PROBE_TIMEOUT_MS=${PROBE_TIMEOUT_MS}), ${rate} req/s for ${durationS} s.`,
      baseline: `${apis} processes of a per-process status cache that probes on expiry (bench/procs/naive-status.ts), same providers, load and settings.`,
      rows: [
        {
          figure: `status p50 at ${rate} req/s, every provider down`,
          unit: 'ms',
          ours: ours.load.latency.p50,
          baseline: naive.load.latency.p50,
          ratio: ratio(ours.load.latency.p50, naive.load.latency.p50),
          target: 'info',
          pass: null,
        },
        {
          figure: `status p99 at ${rate} req/s, every provider down`,
          unit: 'ms',
          ours: ours.load.latency.p99,
          baseline: naive.load.latency.p99,
          ratio: ratio(ours.load.latency.p99, naive.load.latency.p99),
          target: '<= 5 ms',
          pass: ours.load.latency.p99 <= 5 && errors === 0,
          note: `${Math.round(ours.load.okPerS)} vs ${Math.round(naive.load.okPerS)} answers/s achieved${errors ? `; ${errors} errors or non-2xx` : ''}`,
        },
        {
          figure: 'CPU per status request (all serving processes)',
          unit: 'ms',
          ours: ours.cpuMsPerRequest,
          baseline: naive.cpuMsPerRequest,
          ratio: ratio(ours.cpuMsPerRequest, naive.cpuMsPerRequest),
          target: 'info',
          pass: null,
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
      details: { apis, rate, durationS, freshMs: FRESH_MS, probeTimeoutMs: PROBE_TIMEOUT_MS, ours, naive },
    };
  } finally {
    await stopAll(procs);
    await mock.clearFaults();
  }
}
