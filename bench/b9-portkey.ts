/**
 * B9 against the peer (issue 22): the same ladder of open-loop rates, in one run on one machine,
 * against (a) the direct call to the mock provider's OpenAI wire, (b) Portkey's gateway 1.15
 * (`@portkey-ai/gateway`, its own process) routed to that wire by its custom-host header, and (c) our
 * OpenAI facade (`POST /v1/chat/completions`, one API + one worker, model mock/http to the same mock
 * process). Reported, as ratios against Portkey:
 * - ceiling: the highest rate of the ladder with p99 < 100 ms and no errors (facade >= 1.5x Portkey's);
 * - CPU per request at 60% of Portkey's ceiling (Portkey: its process; ours: API + worker + Redis),
 *   facade <= 0.75x Portkey's;
 * - added p99 over the direct call at that rate, facade <= Portkey's (added p50 beside it, info).
 * The rungs interleave the three targets (rate by rate), so a change in the machine's load between
 * rungs moves all three; a target leaves the ladder at its first rung over the line.
 */
import { createRequire } from 'node:module';
import { freePort } from '@switchyard/shared/testing';
import { type BenchContext, bySize } from './lib/context.ts';
import { OursFleet } from './lib/fleet.ts';
import { JsonClient } from './lib/http-client.ts';
import { type OpenLoopResult, openLoop } from './lib/open-loop.ts';
import { cpuMsOf, type Proc, REPO_ROOT, spawnTs, waitForHttp } from './lib/processes.ts';
import { type BenchOutcome, type Row, ratio } from './lib/results.ts';
import { type LatencySummary, median, summarize } from './lib/stats.ts';

const PARAMS = {
  tiny: { rates: [50, 100], stepS: 1, warmS: 1, rounds60: 1 },
  // Up to where every target fails on 2 cores: a ceiling at the top of the ladder is only a floor.
  quick: { rates: [100, 200, 400, 600, 800, 1000, 1200, 1400, 1600], stepS: 3, warmS: 3, rounds60: 3 },
  full: { rates: [100, 200, 300, 400, 500, 600, 800, 1000, 1200, 1400, 1600, 1800, 2000], stepS: 8, warmS: 6, rounds60: 3 },
};
/** A rung holds when its p99 is under this and nothing failed or was dropped. */
const P99_LINE_MS = 100;
const PORTKEY_BIN = 'node_modules/@portkey-ai/gateway/build/start-server.js';

type TargetId = 'direct' | 'portkey' | 'facade';

interface Target {
  id: TargetId;
  url: string;
  model: string;
  headers: Record<string, string>;
  /** The pids whose CPU is charged to this target's requests. */
  pids: () => number[];
  /** Also charge the Redis server's CPU (ours: the queue lives there). */
  withRedis: boolean;
}

interface Step {
  rate: number;
  result: OpenLoopResult;
  latency: LatencySummary;
  /** CPU ms per answered request of each charged process, in the order of `pids` (then Redis). */
  cpuMsPerReq: number[];
  holds: boolean;
}

const messages = (i: number) => [{ role: 'user' as const, content: `bench request ${i}: reply with this sentence.` }];

/** Portkey's gateway from its published build, headless, on a free loopback port. */
async function startPortkey(): Promise<{ proc: Proc; url: string }> {
  const port = await freePort();
  const proc = spawnTs('portkey-gateway', PORTKEY_BIN, { NODE_ENV: 'production' }, [`--port=${port}`, '--headless']);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/`, proc, 120_000);
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
  return { proc, url };
}

export async function run(ctx: BenchContext): Promise<Omit<BenchOutcome, 'elapsedMs'>> {
  const { rates, stepS, warmS, rounds60 } = bySize(ctx.size, PARAMS);
  const fleet = await OursFleet.get(ctx);
  const [api, portkey] = await Promise.all([fleet.ensureApi(), startPortkey(), fleet.workersTo(1)]);
  await fleet.emptyQueue();
  await fleet.mock.clearFaults();
  const client = new JsonClient();
  const openaiBase = fleet.mock.baseUrls.openai;
  const auth = { authorization: 'Bearer bench-no-key' };
  const targets: Target[] = [
    { id: 'direct', url: `${openaiBase}/chat/completions`, model: 'gpt-4o-mini', headers: auth, pids: () => [], withRedis: false },
    {
      id: 'portkey',
      url: `${portkey.url}/v1/chat/completions`,
      model: 'gpt-4o-mini',
      headers: { ...auth, 'x-portkey-provider': 'openai', 'x-portkey-custom-host': openaiBase },
      pids: () => [portkey.proc.pid],
      withRedis: false,
    },
    {
      id: 'facade',
      url: `${api.url}/v1/chat/completions`,
      model: 'mock/http',
      headers: {},
      pids: () => [api.pid, fleet.workers[0]!.pid],
      withRedis: true,
    },
  ];
  try {
    // Correctness first: each target answers a chat.completion carrying the request's text.
    for (const t of targets) {
      const body = await client.postOk(t.url, { model: t.model, messages: messages(-1) }, 30_000, t.headers);
      if (!body.includes('chat.completion') || !body.includes('bench request -1')) {
        throw new Error(`${t.id} answered something unexpected: ${body.slice(0, 300)}`);
      }
    }

    const step = async (t: Target, rate: number, seconds: number): Promise<Step> => {
      const cpuNow = () => [...t.pids().map(cpuMsOf), ...(t.withRedis ? [ctx.redis.cpuMs()] : [])];
      const cpu0 = cpuNow();
      const result = await openLoop({
        rate,
        durationMs: seconds * 1000,
        maxInFlight: 2_000,
        drainMs: 10_000,
        send: async (i) => {
          await client.postOk(t.url, { model: t.model, messages: messages(i) }, 30_000, t.headers);
        },
      });
      const n = Math.max(1, result.completed);
      const cpu1 = cpuNow();
      const latency = summarize(result.latencies);
      return {
        rate,
        result,
        latency,
        cpuMsPerReq: cpu1.map((v, i) => (v - cpu0[i]!) / n),
        holds: result.failed + result.dropped === 0 && result.completed > 0 && latency.p99 < P99_LINE_MS,
      };
    };

    // Warm-up: the first two rungs on every target (cold V8 code serves slower than it will).
    for (const t of targets) for (const r of rates.slice(0, 2)) await step(t, r, warmS);

    // ---- the ladder, rung by rung ----------------------------------------------------------
    const ladder: Record<TargetId, Step[]> = { direct: [], portkey: [], facade: [] };
    const climbing = new Set<TargetId>(targets.map((t) => t.id));
    for (const rate of rates) {
      for (const t of targets) {
        if (!climbing.has(t.id)) continue;
        const s = await step(t, rate, stepS);
        ladder[t.id].push(s);
        if (!s.holds) climbing.delete(t.id);
      }
      ctx.log(
        `B9 ${rate}/s: ${targets
          .map((t) => ladder[t.id].find((s) => s.rate === rate))
          .map((s, i) => (s ? `${targets[i]!.id} p99 ${s.latency.p99.toFixed(1)} ms${s.holds ? '' : ' (over)'}` : `${targets[i]!.id} -`))
          .join('; ')}`,
      );
      if (climbing.size === 0) break;
    }
    /** The highest rung held before the first one over the line; 0 when even the first failed. */
    const ceiling = (id: TargetId) => ladder[id].filter((s) => s.holds).at(-1)?.rate ?? 0;
    const ceilings = { direct: ceiling('direct'), portkey: ceiling('portkey'), facade: ceiling('facade') };

    // ---- all three at 60% of Portkey's ceiling ---------------------------------------------
    // Rounds of the three, interleaved; each figure is the median over the rounds, so one stall of
    // the shared machine during one run does not decide a p99.
    const rate60 = Math.max(1, Math.round(0.6 * (ceilings.portkey || rates[0]!)));
    const rounds: Array<Record<TargetId, Step>> = [];
    for (let r = 0; r < rounds60; r++) {
      const round = {} as Record<TargetId, Step>;
      for (const t of targets) round[t.id] = await step(t, rate60, stepS);
      rounds.push(round);
    }
    const failures60 = rounds.reduce(
      (n, round) => n + targets.reduce((m, t) => m + round[t.id].result.failed + round[t.id].result.dropped, 0),
      0,
    );
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const medianOf = (pick: (round: Record<TargetId, Step>) => number) => median(rounds.map(pick));
    const portkeyCpu = medianOf((round) => sum(round.portkey.cpuMsPerReq));
    const [apiCpu, workerCpu, redisCpu] = [0, 1, 2].map((i) => medianOf((round) => round.facade.cpuMsPerReq[i]!)) as [
      number,
      number,
      number,
    ];
    const facadeCpu = medianOf((round) => sum(round.facade.cpuMsPerReq));
    const stat60 = (id: TargetId, stat: 'p50' | 'p99') => medianOf((round) => round[id].latency[stat]);
    const added = (id: TargetId, stat: 'p50' | 'p99') => medianOf((round) => round[id].latency[stat] - round.direct.latency[stat]);
    const cRatio = ratio(ceilings.facade, ceilings.portkey);
    const atTop = targets.map((t) => t.id).filter((id) => ceilings[id] === rates.at(-1));
    const cpuRatio = ratio(facadeCpu, portkeyCpu);
    const fmt = (v: number) => v.toFixed(2);

    /** Added latency over the direct call at rate60, facade against Portkey. */
    const addedRow = (stat: 'p50' | 'p99', target: string, pass: boolean | null): Row => ({
      figure: `added ${stat} over the direct call at ${rate60} req/s`,
      unit: 'ms',
      ours: added('facade', stat),
      baseline: added('portkey', stat),
      // A ratio of two differences means nothing once Portkey's is not above the direct call's.
      ratio: added('portkey', stat) > 0 ? ratio(added('facade', stat), added('portkey', stat)) : null,
      target,
      pass,
      note: `${stat}, median of ${rounds.length} rounds: facade ${fmt(stat60('facade', stat))}, Portkey ${fmt(stat60('portkey', stat))}, direct ${fmt(stat60('direct', stat))} ms`,
    });
    const rows: Row[] = [
      {
        figure: `ceiling: highest rate with p99 < ${P99_LINE_MS} ms, no errors`,
        unit: '/s',
        ours: ceilings.facade,
        baseline: ceilings.portkey,
        ratio: cRatio,
        target: '>= 1.5',
        pass: cRatio !== null && cRatio >= 1.5,
        note: `ladder ${rates.join(', ')} req/s, ${stepS} s a rung; the direct call's ceiling ${ceilings.direct}/s${atTop.length ? `; at the top of the ladder (a floor, not a ceiling): ${atTop.join(', ')}` : ''}`,
      },
      {
        figure: `CPU per request at ${rate60} req/s (60% of Portkey's ceiling)`,
        unit: 'ms',
        ours: facadeCpu,
        baseline: portkeyCpu,
        ratio: cpuRatio,
        target: '<= 0.75',
        pass: cpuRatio !== null && cpuRatio <= 0.75 && failures60 === 0,
        note: `median of ${rounds.length} rounds; ours: API ${fmt(apiCpu)} + worker ${fmt(workerCpu)} + Redis ${fmt(redisCpu)} ms (each a median); Portkey: its process${failures60 ? `; ${failures60} requests failed or dropped` : ''}`,
      },
      addedRow('p99', "<= Portkey's", added('facade', 'p99') <= added('portkey', 'p99') && failures60 === 0),
      addedRow('p50', 'info', null),
    ];
    const compact = (s: Step) => ({
      ...s.result,
      latencies: undefined,
      lagMs: summarize(s.result.lagMs),
      latency: s.latency,
      cpuMsPerReq: s.cpuMsPerReq,
      holds: s.holds,
    });
    return {
      id: 'B9',
      title: 'against Portkey',
      ours: 'POST /v1/chat/completions on one API process + one worker process, model mock/http over HTTP to the mock provider process.',
      baseline: `Portkey's gateway ${portkeyVersion()} (npm, its own process) with x-portkey-provider: openai and x-portkey-custom-host: the mock's OpenAI wire; the direct call to that wire as the floor for added latency.`,
      rows,
      details: {
        rates,
        stepS,
        p99LineMs: P99_LINE_MS,
        ceilings,
        rate60,
        cpuOrder: { direct: [], portkey: ['portkey'], facade: ['api', 'worker', 'redis'] },
        ladder: { direct: ladder.direct.map(compact), portkey: ladder.portkey.map(compact), facade: ladder.facade.map(compact) },
        at60: rounds.map((round) => ({ direct: compact(round.direct), portkey: compact(round.portkey), facade: compact(round.facade) })),
      } satisfies Record<string, unknown>,
    };
  } finally {
    client.close();
    await portkey.proc.stop().catch(() => {});
    await fleet.emptyQueue().catch(() => {});
  }
}

/** The installed gateway's version, for the result's baseline line. */
function portkeyVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    return (require(`${REPO_ROOT}/node_modules/@portkey-ai/gateway/package.json`) as { version: string }).version;
  } catch {
    return '1.15';
  }
}
