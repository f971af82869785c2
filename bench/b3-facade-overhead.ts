/**
 * B3 facade overhead, two halves, API and worker as separate processes:
 * 1. Latency at 500 requests/s offered open loop (bench/lib/open-loop.ts): `POST /v1/chat/completions`
 *    through the queue (API -> BullMQ -> worker -> mock provider over HTTP -> completion message ->
 *    API) against the same request sent straight to the mock provider. Added p50 <= 3 ms, p99 <= 15 ms.
 * 2. Throughput at 64 concurrent (closed loop): completions/s the facade sustains (autocannon, model
 *    mock/echo) against plain BullMQ `queue.add` + `job.waitUntilFinished(queueEvents)` round trips
 *    from 64 concurrent loops, with a plain no-op worker process, same concurrency. Target >= 1.0x.
 * Before measuring, one completion goes through the official `openai` SDK as a correctness check.
 */
import { randomUUID } from 'node:crypto';
import { QueueEvents } from 'bullmq';
import OpenAI from 'openai';
import { type BenchContext, bySize } from './lib/context.ts';
import { OursFleet } from './lib/fleet.ts';
import { JsonClient } from './lib/http-client.ts';
import { type HttpLoadResult, httpLoad } from './lib/http-load.ts';
import { type OpenLoopResult, openLoop } from './lib/open-loop.ts';
import { cpuMsOf } from './lib/processes.ts';
import { echoRequest } from './lib/queue.ts';
import { type BenchOutcome, type Row, ratio } from './lib/results.ts';
import { type LatencySummary, median, summarize } from './lib/stats.ts';
import { PlainPool } from './lib/throughput.ts';

const PARAMS = {
  tiny: { rate: 100, openS: 1, rounds: 1, closedS: 1 },
  quick: { rate: 500, openS: 3, rounds: 1, closedS: 3 },
  full: { rate: 500, openS: 15, rounds: 2, closedS: 10 },
};
const CONCURRENT = 64;

const messages = (i: number) => [{ role: 'user' as const, content: `bench request ${i}: reply with this sentence.` }];

interface OpenRun {
  result: OpenLoopResult;
  latency: LatencySummary;
  /** CPU ms per request of our API and worker processes (0 for the direct calls). */
  apiCpuMsPerReq: number;
  workerCpuMsPerReq: number;
}

export async function run(ctx: BenchContext): Promise<Omit<BenchOutcome, 'elapsedMs'>> {
  const { rate, openS, rounds, closedS } = bySize(ctx.size, PARAMS);
  const fleet = await OursFleet.get(ctx);
  const plain = PlainPool.get(ctx);
  const [api] = await Promise.all([fleet.ensureApi(), fleet.workersTo(1), plain.workersTo(1)]);
  await fleet.emptyQueue();
  await fleet.mock.clearFaults();
  const client = new JsonClient();
  const facadeUrl = `${api.url}/v1/chat/completions`;
  const directUrl = `${fleet.mock.baseUrls.mock}/mock/v1/chat/completions`;
  try {
    // Correctness first: the official SDK gets a real chat.completion through the queue.
    const sdk = new OpenAI({ baseURL: `${api.url}/v1`, apiKey: 'bench-no-key', maxRetries: 0, timeout: 30_000 });
    const checked = await sdk.chat.completions.create({ model: 'mock/http', messages: messages(-1) });
    if (!checked.choices[0]?.message.content?.includes('bench request -1')) {
      throw new Error(`the facade answered something unexpected: ${JSON.stringify(checked).slice(0, 300)}`);
    }

    // ---- 1. open-loop latency ----------------------------------------------------------------
    const openRun = async (url: string, model: string, seconds: number, r: number): Promise<OpenRun> => {
      const worker = fleet.workers[0]!;
      const cpu0 = [cpuMsOf(api.pid), cpuMsOf(worker.pid)];
      const result = await openLoop({
        rate: r,
        durationMs: seconds * 1000,
        maxInFlight: 2_000,
        drainMs: 30_000,
        send: async (i) => {
          await client.postOk(url, { model, messages: messages(i) });
        },
      });
      const n = Math.max(1, result.completed);
      return {
        result,
        latency: summarize(result.latencies),
        apiCpuMsPerReq: (cpuMsOf(api.pid) - cpu0[0]!) / n,
        workerCpuMsPerReq: (cpuMsOf(worker.pid) - cpu0[1]!) / n,
      };
    };
    // Warm-up at the measured rate: after 1 s at 200 req/s the worker's HTTP-provider path was still
    // cold, and a quick round measured its warm-up (p50 ~0.5-0.9 s) instead of its steady state.
    await openRun(facadeUrl, 'mock/http', 2, rate);
    await openRun(directUrl, 'http', 1, rate);
    const facade: OpenRun[] = [];
    const direct: OpenRun[] = [];
    for (let round = 0; round < rounds; round++) {
      facade.push(await openRun(facadeUrl, 'mock/http', openS, rate));
      direct.push(await openRun(directUrl, 'http', openS, rate));
      ctx.log(
        `B3 open loop ${rate}/s round ${round + 1}: facade p50 ${facade.at(-1)!.latency.p50.toFixed(2)} p99 ${facade.at(-1)!.latency.p99.toFixed(2)} ms; direct p50 ${direct.at(-1)!.latency.p50.toFixed(2)} p99 ${direct.at(-1)!.latency.p99.toFixed(2)} ms`,
      );
    }

    // ---- 2. closed-loop throughput at 64 concurrent ------------------------------------------
    const facadeThroughput = async (seconds: number) => {
      const cpu0 = [cpuMsOf(api.pid), cpuMsOf(fleet.workers[0]!.pid)];
      const load = await httpLoad({
        url: facadeUrl,
        method: 'POST',
        body: { model: 'mock/echo', messages: messages(0) },
        connections: CONCURRENT,
        durationS: seconds,
      });
      const n = Math.max(1, load.ok);
      return {
        load,
        apiCpuMsPerReq: (cpuMsOf(api.pid) - cpu0[0]!) / n,
        workerCpuMsPerReq: (cpuMsOf(fleet.workers[0]!.pid) - cpu0[1]!) / n,
      };
    };
    const queueEvents = new QueueEvents(plain.queue.name, {
      connection: plain.connection.duplicate(),
      prefix: plain.queue.opts.prefix ?? 'bull',
    });
    await queueEvents.waitUntilReady();
    // waitUntilFinished adds a listener per waiting job to the queue: 64 at once is by design here.
    plain.queue.setMaxListeners(CONCURRENT * 4);
    queueEvents.setMaxListeners(CONCURRENT * 4);
    const bullmqThroughput = async (seconds: number) => {
      const deadline = Date.now() + seconds * 1000;
      const latencies: number[] = [];
      let failed = 0;
      const cpu0 = cpuMsOf(plain.workers[0]!.pid);
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: CONCURRENT }, async (_, lane) => {
          let i = 0;
          while (Date.now() < deadline) {
            const started = performance.now();
            const { name, data, opts } = plain.shape.job(echoRequest(lane * 1_000_000 + i++), randomUUID());
            try {
              const job = await plain.queue.add(name, data, opts);
              await job.waitUntilFinished(queueEvents, 30_000);
              latencies.push(performance.now() - started);
            } catch {
              failed++;
            }
          }
        }),
      );
      const elapsedS = (performance.now() - t0) / 1000;
      const n = Math.max(1, latencies.length);
      return {
        okPerS: latencies.length / elapsedS,
        latency: summarize(latencies),
        failed,
        workerCpuMsPerReq: (cpuMsOf(plain.workers[0]!.pid) - cpu0) / n,
      };
    };
    let facadeRuns: Array<Awaited<ReturnType<typeof facadeThroughput>>> = [];
    let bullRuns: Array<Awaited<ReturnType<typeof bullmqThroughput>>> = [];
    try {
      await facadeThroughput(1);
      await bullmqThroughput(1);
      facadeRuns = [];
      bullRuns = [];
      for (let round = 0; round < rounds; round++) {
        facadeRuns.push(await facadeThroughput(closedS));
        bullRuns.push(await bullmqThroughput(closedS));
        ctx.log(
          `B3 64 concurrent round ${round + 1}: facade ${Math.round(facadeRuns.at(-1)!.load.okPerS)}/s, BullMQ waitUntilFinished ${Math.round(bullRuns.at(-1)!.okPerS)}/s`,
        );
      }
    } finally {
      await queueEvents.close().catch(() => {});
    }

    // ---- rows --------------------------------------------------------------------------------
    const med = <T>(runs: T[], pick: (r: T) => number) => median(runs.map(pick));
    const fP50 = med(facade, (r) => r.latency.p50);
    const dP50 = med(direct, (r) => r.latency.p50);
    const fP99 = med(facade, (r) => r.latency.p99);
    const dP99 = med(direct, (r) => r.latency.p99);
    const openFailures = [...facade, ...direct].reduce((n, r) => n + r.result.failed + r.result.dropped, 0);
    const fRate = med(facadeRuns, (r) => r.load.okPerS);
    const bRate = med(bullRuns, (r) => r.okPerS);
    const closedErrors = facadeRuns.reduce((n, r) => n + r.load.non2xx + r.load.errors, 0) + bullRuns.reduce((n, r) => n + r.failed, 0);
    const tRatio = ratio(fRate, bRate);
    const rows: Row[] = [
      {
        figure: `p50 at ${rate} req/s open loop`,
        unit: 'ms',
        ours: fP50,
        baseline: dP50,
        ratio: null,
        target: 'added <= 3 ms',
        pass: fP50 - dP50 <= 3 && openFailures === 0,
        note: `added ${(fP50 - dP50).toFixed(2)} ms (facade through the queue minus the direct call); ${Math.round(med(facade, (r) => r.result.achievedRate))} of ${rate} req/s answered; CPU per request: API ${med(facade, (r) => r.apiCpuMsPerReq).toFixed(2)} ms, worker ${med(facade, (r) => r.workerCpuMsPerReq).toFixed(2)} ms (mock/http through the OpenAI-compatible adapter)${openFailures ? `; ${openFailures} requests failed or dropped` : ''}`,
      },
      {
        figure: `p99 at ${rate} req/s open loop`,
        unit: 'ms',
        ours: fP99,
        baseline: dP99,
        ratio: null,
        target: 'added <= 15 ms',
        pass: fP99 - dP99 <= 15 && openFailures === 0,
        note: `added ${(fP99 - dP99).toFixed(2)} ms`,
      },
      {
        figure: `completions/s at ${CONCURRENT} concurrent`,
        unit: '/s',
        ours: fRate,
        baseline: bRate,
        ratio: tRatio,
        target: '>= 1.0',
        pass: tRatio !== null && tRatio >= 1 && closedErrors === 0,
        note: `facade (HTTP, API + worker processes) vs BullMQ add + waitUntilFinished in one process${closedErrors ? `; ${closedErrors} errors` : ''}`,
      },
      {
        figure: `round-trip p50 at ${CONCURRENT} concurrent`,
        unit: 'ms',
        ours: med(facadeRuns, (r) => r.load.latency.p50),
        baseline: med(bullRuns, (r) => r.latency.p50),
        ratio: ratio(
          med(facadeRuns, (r) => r.load.latency.p50),
          med(bullRuns, (r) => r.latency.p50),
        ),
        target: 'info',
        pass: null,
      },
      {
        figure: 'worker CPU per completion',
        unit: 'ms',
        ours: med(facadeRuns, (r) => r.workerCpuMsPerReq),
        baseline: med(bullRuns, (r) => r.workerCpuMsPerReq),
        ratio: null,
        target: 'info',
        pass: null,
        note: `our API process also spent ${med(facadeRuns, (r) => r.apiCpuMsPerReq).toFixed(3)} ms per completion`,
      },
    ];
    const compact = (r: OpenRun) => ({
      ...r.result,
      latencies: undefined,
      lagMs: summarize(r.result.lagMs),
      latency: r.latency,
      apiCpuMsPerReq: r.apiCpuMsPerReq,
      workerCpuMsPerReq: r.workerCpuMsPerReq,
    });
    return {
      id: 'B3',
      title: 'facade overhead',
      ours: `POST /v1/chat/completions on one API process + one worker process (open loop: model mock/http over HTTP to the mock server; closed loop: mock/echo), ${rounds} round(s).`,
      baseline: `open loop: the same request sent straight to the mock provider; closed loop: plain BullMQ add + waitUntilFinished from ${CONCURRENT} loops with one no-op worker process.`,
      rows,
      details: {
        rate,
        openS,
        closedS,
        facade: facade.map(compact),
        direct: direct.map(compact),
        facadeThroughput: facadeRuns.map((r) => ({ ...r, load: { ...r.load } })),
        bullmqThroughput: bullRuns,
      } satisfies Record<string, unknown>,
    };
  } finally {
    client.close();
    await fleet.emptyQueue().catch(() => {});
  }
}

export type { HttpLoadResult };
