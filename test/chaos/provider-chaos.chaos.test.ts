/**
 * Provider chaos: a soak of jobs with fallbacks across three providers (openai, anthropic, gemini,
 * all pointed at the mock server) while the mock mixes latency spikes, 429s with retry-after, 5xx,
 * malformed bodies, connection resets and hangs. Each fault lives on a model of its own, so the
 * class every call must end with is known from its model alone. Checks:
 *  - no job runs past its budget by more than 100 ms (BullMQ's processedOn -> finishedOn);
 *  - no breaker opens on aborts: gemini only ever answers, stalls or hangs (its calls end as
 *    successes or `aborted`: budget expiry, hedge losers), and its circuit must never trip;
 *  - every call's outcome is one its model's fault can produce, every failed job's class is the
 *    class of one of its calls (or `budget_exhausted` at the budget, or `no_provider_available`);
 *  - GET /v1/metrics (readDailyMetrics) per provider and class equals the calls recorded in the
 *    jobs' results and errors, and the calls the mock server received.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type FaultRule, type MockServer, startMockServer } from '@switchyard/providers/mock-server';
import { QUEUE_NAME, queuePrefix } from '@switchyard/shared';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServiceProcess, worstLoopDelay } from '../support/processes.ts';
import { ChaosCluster } from './support/cluster.ts';
import { call, mapLimit, percentile, round, sizeFromEnv, sleep } from './support/http.ts';
import { scanRedisForSecrets } from './support/redis.ts';
import { ChaosReport, DEBUG_DIR, progress } from './support/report.ts';
import { RunQueueSampler } from './support/sched.ts';
import { PROVIDER_KEYS, scanner } from './support/secrets.ts';

const JOBS = sizeFromEnv('CHAOS_PROVIDER_JOBS', 1_500);
/** Jobs submitted per second (open loop). */
const RATE = sizeFromEnv('CHAOS_PROVIDER_RATE', 40);
const OVERRUN_LIMIT_MS = 100;

type Provider = 'openai' | 'anthropic' | 'gemini';

interface ModelPlan {
  ref: string;
  provider: Provider;
  /** What its fault rules inject, for the report. */
  faults: string;
  /** Outcomes its calls may end with (besides success and aborted). */
  classes: string[];
  rules: Array<Omit<FaultRule, 'provider' | 'model' | 'endpoint'>>;
}

const FAST = (ms: string) => ({ fault: `latency=${ms}` });

const MODELS: ModelPlan[] = [
  {
    ref: 'openai/gpt-4o-mini',
    provider: 'openai',
    faults: '10% latency spike 600-1200 ms',
    classes: [],
    rules: [{ fault: 'latency=600-1200', probability: 0.1 }, FAST('20-80')],
  },
  {
    ref: 'openai/chaos-429',
    provider: 'openai',
    faults: '40% 429 with retry-after-ms=300',
    classes: ['rate_limited'],
    rules: [{ fault: 'status=429;retry-after-ms=300', probability: 0.4 }, FAST('20-80')],
  },
  {
    ref: 'openai/chaos-reset',
    provider: 'openai',
    faults: '35% connection reset',
    classes: ['network_error'],
    rules: [{ fault: 'latency=10-60;reset', probability: 0.35 }, FAST('20-80')],
  },
  {
    ref: 'anthropic/claude-sonnet-4-5',
    provider: 'anthropic',
    faults: '10% latency spike 600-1200 ms',
    classes: [],
    rules: [{ fault: 'latency=600-1200', probability: 0.1 }, FAST('20-100')],
  },
  {
    ref: 'anthropic/chaos-5xx',
    provider: 'anthropic',
    faults: '45% 5xx (500, 502, 503, 529)',
    classes: ['service_unavailable'],
    rules: [
      { fault: 'status=503', probability: 0.15 },
      { fault: 'status=529', probability: 0.12 },
      { fault: 'status=500', probability: 0.1 },
      { fault: 'status=502', probability: 0.1 },
      FAST('20-100'),
    ],
  },
  {
    ref: 'anthropic/chaos-malformed',
    provider: 'anthropic',
    faults: '25% malformed body',
    classes: ['invalid_response'],
    rules: [{ fault: 'malformed', probability: 0.25 }, FAST('20-100')],
  },
  {
    ref: 'gemini/gemini-2.5-flash',
    provider: 'gemini',
    faults: '20% latency spike 1200-2500 ms (beyond most budgets)',
    classes: [],
    rules: [{ fault: 'latency=1200-2500', probability: 0.2 }, FAST('20-100')],
  },
  {
    ref: 'gemini/chaos-hang',
    provider: 'gemini',
    faults: '35% hang (never answers)',
    classes: [],
    rules: [{ fault: 'hang', probability: 0.35 }, FAST('20-100')],
  },
];

const report = new ChaosReport('provider-chaos', 'Provider chaos soak (3 providers, fallbacks, hedging)', 3, 2);
let mock: MockServer;
let cluster: ChaosCluster;
let redis: Redis;
let queue: Queue;

beforeAll(async () => {
  mock = await startMockServer();
  mock.setFaults(
    MODELS.flatMap((m) =>
      m.rules.map((rule) => ({ ...rule, provider: m.provider, model: m.ref.slice(m.provider.length + 1), endpoint: 'chat' as const })),
    ),
  );
  cluster = await ChaosCluster.start({
    name: 'providers',
    workers: 2,
    env: {
      OPENAI_API_KEY: PROVIDER_KEYS.OPENAI_API_KEY,
      ANTHROPIC_API_KEY: PROVIDER_KEYS.ANTHROPIC_API_KEY,
      GEMINI_API_KEY: PROVIDER_KEYS.GEMINI_API_KEY,
      OPENAI_BASE_URL: mock.baseUrls.openai,
      ANTHROPIC_BASE_URL: mock.baseUrls.anthropic,
      GEMINI_BASE_URL: mock.baseUrls.gemini,
      DEFAULT_MODEL: 'openai/gpt-4o-mini',
      WORKER_CONCURRENCY: '48',
      RATE_LIMIT_RPM: '0',
      // Every call of a job is in its result: no queue-level retries (a retry's calls would replace the first run's).
      JOB_ATTEMPTS: '1',
      HEDGE_DELAY_MS: '250',
      HEDGE_STAGGER_MS: '150',
      HEDGE_RATIO: '0.5',
      HEDGE_BURST: '50',
      // Consecutive failures and a failure-rate window: openai and anthropic fail ~20% of their calls and trip it;
      // gemini's calls end ~25% as `aborted`, which must never count, so gemini's must never trip.
      CIRCUIT_FAILURE_THRESHOLD: '4',
      CIRCUIT_FAILURE_RATE: '0.15',
      CIRCUIT_WINDOW_MS: '5000',
      CIRCUIT_MIN_CALLS: '20',
      CIRCUIT_RESET_MS: '1500',
      CIRCUIT_PROBE_LEASE_MS: '3000',
      // The provider's own deadline is longer than any budget: a hang always ends at the budget, as `aborted`.
      ATTEMPT_TIMEOUT_MS: '20000',
    },
  });
  progress('cluster up: api + 2 workers');
  redis = cluster.client();
  queue = new Queue(QUEUE_NAME, { connection: redis, prefix: queuePrefix(cluster.namespace), skipVersionCheck: true });
});

afterAll(async () => {
  try {
    await queue?.close().catch(() => {});
    redis?.disconnect();
    await cluster?.stop();
    await mock?.close();
  } finally {
    // Whatever happened above, this file's section of bench/results/chaos.md is written.
    report.write();
  }
});

interface Attempt {
  provider: string;
  model: string;
  outcome: string;
  started_ms: number;
  latency_ms: number;
  hedge: boolean;
}

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)] as T;
}

/** A primary from any provider and one or two fallbacks from the others. */
function jobPlan(i: number) {
  const primary = pick(MODELS);
  const others = MODELS.filter((m) => m.provider !== primary.provider);
  const fallbacks = [pick(others)];
  if (Math.random() < 0.5) {
    const third = others.filter((m) => m.provider !== fallbacks[0]!.provider);
    fallbacks.push(pick(third));
  }
  const budget = 600 + Math.floor(Math.random() * 1900);
  return {
    model: primary.ref,
    fallbacks: fallbacks.map((f) => f.ref),
    budget_ms: budget,
    messages: [{ role: 'user', content: `soak job ${i}` }],
  };
}

describe('provider chaos', () => {
  it(`${JOBS} jobs with fallbacks under latency spikes, 429s, 5xx, resets and hangs`, async () => {
    // Run-queue waits of the workers' main threads and of Redis: what the machine withheld from them.
    const sched = new RunQueueSampler(() => [...cluster.workers.map((w) => w.pid), cluster.redis.process.pid ?? -1]);
    sched.start();
    const started = Date.now();
    const plans = Array.from({ length: JOBS }, (_, i) => jobPlan(i));
    const ids: Array<string | null> = new Array(JOBS).fill(null);
    const refusals: string[] = [];
    // Open loop: RATE jobs per second whatever the system does, each over POST /v1/jobs.
    await mapLimit(plans, RATE, async (plan, i) => {
      const due = started + (i / RATE) * 1000;
      if (due > Date.now()) await sleep(due - Date.now());
      const answer = await call(cluster.apiUrl, '/v1/jobs', { body: plan });
      if (answer.status === 202) ids[i] = answer.json().id;
      else refusals.push(`${answer.status} ${answer.error ?? answer.text.slice(0, 200)}`);
    });
    const submitS = (Date.now() - started) / 1000;
    progress(`${JOBS} jobs submitted in ${round(submitS, 1)} s`);
    const unfinished = async () =>
      Object.values(await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children')).reduce((a, b) => a + b, 0);
    const deadline = Date.now() + 120_000;
    while ((await unfinished()) > 0 && Date.now() < deadline) await sleep(250);
    progress('all jobs final');
    sched.stop();
    // Reports are fire-and-forget: give the last ones a moment to land.
    await sleep(1500);

    const allowed = new Map(MODELS.map((m) => [m.ref, new Set(['success', 'aborted', ...m.classes])]));
    const callsBy: Record<string, Record<string, number>> = {};
    const wrongClass: string[] = [];
    const jobClass: Record<string, number> = {};
    const badJobClass: string[] = [];
    const overruns: number[] = [];
    const overBudget: string[] = [];
    const overDetails: unknown[] = [];
    const unexplained: string[] = [];
    const wrongDetails: unknown[] = [];
    let worstDelayAtOverrun = 0;
    let worstStarvedAtOverrun = 0;
    const redisPid = cluster.redis.process.pid ?? -1;
    const workerOf = (processedBy: string | undefined): ServiceProcess | undefined =>
      processedBy ? cluster.history.find((p) => processedBy.includes(`:${p.pid}:`)) : undefined;
    let completed = 0;
    let failed = 0;
    let notFinal = 0;
    let hedges = 0;
    let fallbacksUsed = 0;
    let routerOverrun = 0;

    await mapLimit(
      ids.map((id, i) => ({ id, i })),
      32,
      async ({ id, i }) => {
        if (!id) return;
        const plan = plans[i]!;
        const [answer, job] = await Promise.all([call(cluster.apiUrl, `/v1/jobs/${id}`), queue.getJob(id)]);
        const view = answer.status === 200 ? answer.json() : null;
        if (!view || !['completed', 'failed'].includes(view.status) || !job?.processedOn || !job.finishedOn) {
          notFinal += 1;
          return;
        }
        const ran = job.finishedOn - job.processedOn;
        const overrun = ran - plan.budget_ms;
        overruns.push(overrun);
        if (overrun > OVERRUN_LIMIT_MS) {
          // What the machine withheld while the job was active: run-queue waits of the worker's main thread and of
          // Redis (a timer fires only once its thread gets a CPU again), and the worker's measured event-loop delay.
          const worker = workerOf(job.processedBy);
          const starved = worker
            ? sched.waitMs(worker.pid, job.processedOn, job.finishedOn) + sched.waitMs(redisPid, job.processedOn, job.finishedOn)
            : 0;
          const loopDelay = worker ? worstLoopDelay(worker, job.processedOn + plan.budget_ms - 500, job.finishedOn) : 0;
          worstDelayAtOverrun = Math.max(worstDelayAtOverrun, loopDelay);
          worstStarvedAtOverrun = Math.max(worstStarvedAtOverrun, starved);
          overBudget.push(`${id}: budget ${plan.budget_ms} ms, ran ${ran} ms, starved ${Math.round(starved)} ms`);
          if (overrun > OVERRUN_LIMIT_MS + starved) {
            unexplained.push(
              `${id}: budget ${plan.budget_ms} ms, ran ${ran} ms; worker and Redis waited for a CPU only ${Math.round(starved)} ms`,
            );
          }
          const attempts = view.result?.attempts ?? view.error?.attempts;
          overDetails.push({ id, plan, ran, starved, loopDelay, status: view.status, error: view.error?.message, attempts });
        }
        const attempts: Attempt[] = (view.status === 'completed' ? view.result?.attempts : view.error?.attempts) ?? [];
        for (const a of attempts) {
          const ref = `${a.provider}/${a.model}`;
          callsBy[a.provider] ??= {};
          callsBy[a.provider]![a.outcome] = (callsBy[a.provider]![a.outcome] ?? 0) + 1;
          if (!allowed.get(ref)?.has(a.outcome)) {
            wrongClass.push(`${ref} -> ${a.outcome}`);
            wrongDetails.push({ id, plan, attempt: a, processedOn: job.processedOn, finishedOn: job.finishedOn, worker: job.processedBy });
          }
          if (a.hedge) hedges += 1;
          routerOverrun = Math.max(routerOverrun, a.started_ms + a.latency_ms - plan.budget_ms);
        }
        if (attempts.some((a) => `${a.provider}/${a.model}` !== plan.model)) fallbacksUsed += 1;
        if (view.status === 'completed') {
          completed += 1;
          if (attempts.at(-1) === undefined || !attempts.some((a) => a.outcome === 'success'))
            badJobClass.push(`${id}: completed without a successful call`);
          return;
        }
        failed += 1;
        const cls = view.error?.class as string;
        jobClass[cls] = (jobClass[cls] ?? 0) + 1;
        const fromCalls = attempts.some((a) => a.outcome === cls);
        const atBudget = cls === 'budget_exhausted' && ran >= plan.budget_ms - 50;
        if (!(fromCalls || atBudget || cls === 'no_provider_available')) {
          badJobClass.push(`${id}: class ${cls}, calls ${attempts.map((a) => a.outcome).join(',')}, ran ${ran}/${plan.budget_ms} ms`);
        }
      },
    );

    // Metrics: GET /v1/metrics (readDailyMetrics) against the calls in the jobs and at the mock server.
    // Workers add metrics up in the process and write them every 250 ms, after the job: read until
    // each provider's total is the jobs' (or 30 s went by; the comparison below then names what is off).
    // A loaded machine can hold a worker's flush past the pause above; a lost or doubled count never converges.
    const jobsTotalOf = (p: string) => Object.values(callsBy[p] ?? {}).reduce((a, b) => a + b, 0);
    const totalsMatch = (m: { totals: Array<{ provider: string; total: number }> }) =>
      (['openai', 'anthropic', 'gemini'] as const).every((p) => (m.totals.find((t) => t.provider === p)?.total ?? 0) === jobsTotalOf(p));
    let metrics = (await call(cluster.apiUrl, '/v1/metrics?days=2')).json();
    for (const settleBy = Date.now() + 30_000; !totalsMatch(metrics) && Date.now() < settleBy; ) {
      await sleep(250);
      metrics = (await call(cluster.apiUrl, '/v1/metrics?days=2')).json();
    }
    const counters = (await call(cluster.apiUrl, '/v1/providers/status')).json();
    const prom = (await call(cluster.apiUrl, '/metrics')).text;
    const stats = mock.stats();
    const mismatches: string[] = [];
    const providers: Provider[] = ['openai', 'anthropic', 'gemini'];
    const rows: string[] = [];
    for (const p of providers) {
      const m = metrics.totals.find((t: { provider: string }) => t.provider === p) ?? { total: 0, success: 0, failures: {} };
      const jobsSide = callsBy[p] ?? {};
      const jobsTotal = Object.values(jobsSide).reduce((a, b) => a + b, 0);
      if (m.total !== jobsTotal) mismatches.push(`${p}: metrics total ${m.total}, calls in jobs ${jobsTotal}`);
      if (m.success !== (jobsSide.success ?? 0)) mismatches.push(`${p}: metrics success ${m.success}, in jobs ${jobsSide.success ?? 0}`);
      for (const cls of new Set([...Object.keys(m.failures), ...Object.keys(jobsSide).filter((k) => k !== 'success')])) {
        if ((m.failures[cls] ?? 0) !== (jobsSide[cls] ?? 0))
          mismatches.push(`${p}/${cls}: metrics ${m.failures[cls] ?? 0}, in jobs ${jobsSide[cls] ?? 0}`);
      }
      const received = stats.byEndpoint[`${p}:chat`]?.received ?? 0;
      rows.push(`${p}: ${jobsTotal} calls (mock received ${received}): ${JSON.stringify(jobsSide)}`);
      report.set(
        `calls: ${p}`,
        `${jobsTotal} in jobs = ${m.total} in /v1/metrics; mock server received ${received}; ${JSON.stringify(jobsSide)}`,
      );
    }
    const trips = Object.fromEntries(
      providers.map((p) => [
        p,
        Number(new RegExp(`^switchyard_circuit_opens_total\\{deployment="${p}",provider="${p}"\\} (\\d+)$`, 'm').exec(prom)?.[1] ?? 'NaN'),
      ]),
    );
    const geminiState = counters.providers.find((s: { provider: string }) => s.provider === 'gemini');
    const receivedAll = providers.reduce((n, p) => n + (stats.byEndpoint[`${p}:chat`]?.received ?? 0), 0);
    const callsAll = Object.values(callsBy).reduce((n, byOutcome) => n + Object.values(byOutcome).reduce((a, b) => a + b, 0), 0);
    const nonAborted = Object.values(callsBy).reduce(
      (n, byOutcome) =>
        n +
        Object.entries(byOutcome)
          .filter(([o]) => o !== 'aborted')
          .reduce((a, [, v]) => a + v, 0),
      0,
    );
    mkdirSync(DEBUG_DIR, { recursive: true });
    writeFileSync(join(DEBUG_DIR, 'provider-chaos-overruns.json'), JSON.stringify({ overDetails, wrongDetails, badJobClass }, null, 2));
    const workerDelays = cluster.history
      .filter((p) => p.name.startsWith('worker'))
      .flatMap((p) => p.loopDelay.filter((d) => d.t >= started).map((d) => d.max));
    const faulted = providers.reduce((n, p) => n + (stats.byProvider[p]?.faulted ?? 0), 0);

    report.summary =
      `${JOBS} jobs, ${callsAll} provider calls: max budget overrun ${round(Math.max(...overruns))} ms; gemini (aborts only) trips ${trips.gemini}; ` +
      `wrong classes ${wrongClass.length}; metrics = calls: ${mismatches.length === 0 ? 'yes' : 'NO'}`;
    const failedCalls = Object.values(callsBy).reduce(
      (n, byOutcome) => n + Object.entries(byOutcome).reduce((a, [outcome, v]) => a + (outcome === 'success' ? 0 : v), 0),
      0,
    );
    report.headline(
      'provider soak: jobs / calls / calls ended by an injected fault (error or abort)',
      `${JOBS} / ${callsAll} / ${failedCalls}`,
    );
    report.headline('max budget overrun', `${Math.max(...overruns)} ms (p99 ${percentile(overruns, 99)} ms)`);
    report.headline(
      'breaker trips from aborts (gemini: aborts only)',
      `${trips.gemini} (with ${callsBy.gemini?.aborted ?? 0} aborted calls)`,
    );
    report.headline('metrics totals = calls recorded in jobs', mismatches.length === 0 ? 'yes, per provider and class' : 'NO');
    report.set('jobs (open loop, per second)', `${JOBS} (${RATE}/s), budgets 600-2500 ms, 1-2 fallbacks on other providers`);
    report.set(
      'router',
      'hedge after 250 ms then every 150 ms; breaker opens at 4 in a row or 15% of >= 20 calls in 5 s, half-open after 1.5 s; JOB_ATTEMPTS=1',
    );
    for (const m of MODELS) report.set(`fault: ${m.ref}`, m.faults);
    report.set('jobs completed / failed / not final', `${completed} / ${failed} / ${notFinal}`);
    report.set('failed jobs by class', JSON.stringify(jobClass));
    report.set('jobs answered by a fallback or hedge candidate', fallbacksUsed);
    report.set('hedge calls', hedges);
    report.set('calls the mock applied a fault rule to (the 20-100 ms baseline latency included)', faulted);
    report.set(
      'budget overrun (finishedOn - processedOn - budget) p50 / p99 / max',
      `${percentile(overruns, 50)} / ${percentile(overruns, 99)} / ${Math.max(...overruns)} ms`,
    );
    report.set('jobs over budget by more than 100 ms', overBudget.length);
    report.set(
      '  of which more than 100 ms beyond what the machine withheld (run-queue wait of worker + Redis while active)',
      `${unexplained.length} (largest wait excused: ${Math.round(worstStarvedAtOverrun)} ms; worker event-loop delay at those deadlines up to ${worstDelayAtOverrun} ms)`,
    );
    const starvation = cluster.workers.map((w) => sched.total(w.pid)).map((x) => (x.wallMs > 0 ? x.waitMs / x.wallMs : 0));
    report.set(
      "workers' main threads: share of the soak spent waiting for a CPU",
      starvation.map((f) => `${Math.round(f * 100)}%`).join(' / '),
    );
    report.set(
      'worker event-loop delay over the soak: p50 / p99 / max of half-second maxima',
      `${percentile(workerDelays, 50)} / ${percentile(workerDelays, 99)} / ${Math.max(0, ...workerDelays)} ms`,
    );
    report.set('latest call end past the budget (router clock)', `${routerOverrun} ms`);
    report.set('circuit trips (openai / anthropic / gemini)', `${trips.openai} / ${trips.anthropic} / ${trips.gemini}`);
    report.set(
      'gemini: aborted calls, circuit now',
      `${callsBy.gemini?.aborted ?? 0} aborted; ${geminiState?.circuit?.state} with ${geminiState?.circuit?.consecutive_failures} counted failures`,
    );
    report.set('calls with a class their fault cannot produce', wrongClass.length);
    report.set('failed jobs whose class is not one of their calls', badJobClass.length);
    report.set('metrics totals vs calls in jobs', mismatches.length === 0 ? 'equal for every provider and class' : mismatches.join('; '));
    report.set(
      'calls in jobs vs received by the mock server',
      `${callsAll} vs ${receivedAll} (${callsAll - nonAborted} aborted, some before their request was sent)`,
    );
    report.set('submission refused', refusals.length);

    expect(refusals.slice(0, 3)).toEqual([]);
    expect(notFinal).toBe(0);
    // Strict on a machine that gives the workers their CPU; on a loaded one, an overrun is only excused as far as the
    // worker's own event loop was measurably late at that moment (see loop-delay.ts).
    expect(unexplained.slice(0, 5)).toEqual([]);
    expect(wrongClass.slice(0, 5)).toEqual([]);
    expect(badJobClass.slice(0, 5)).toEqual([]);
    expect(mismatches).toEqual([]);
    // A call the mock never saw (aborted before its request was sent) is still a call in the job; every call that
    // ended otherwise (an answer, an error status, a reset) must have reached the mock; and the mock saw no call the jobs do not record.
    expect(receivedAll).toBeLessThanOrEqual(callsAll);
    expect(receivedAll).toBeGreaterThanOrEqual(nonAborted);
    // The soak did what it says (every provider failed in its ways, the failing ones' breakers opened, gemini's
    // never did) - when the workers were given the CPU to make calls at all. On a machine so loaded that their main
    // threads waited for a CPU most of the time, nearly every call ends at its budget as `aborted`: the invariants
    // above still hold and are asserted; the coverage is reported, not asserted.
    expect(trips.gemini).toBe(0);
    expect(geminiState?.circuit?.consecutive_failures).toBe(0);
    const starved = Math.max(0, ...starvation) >= 0.5;
    const coverage = {
      geminiAborts: (callsBy.gemini?.aborted ?? 0) > 50,
      breakersOpened: (trips.openai ?? 0) + (trips.anthropic ?? 0) > 0,
      ...Object.fromEntries(
        ['rate_limited', 'network_error', 'service_unavailable', 'invalid_response'].map((cls) => [
          cls,
          Object.values(callsBy).some((byOutcome) => (byOutcome[cls] ?? 0) > 0),
        ]),
      ),
    };
    report.set('coverage (each fault class seen, breakers opened, gemini aborts > 50)', JSON.stringify(coverage));
    if (starved) {
      report.note(
        `The workers' main threads waited for a CPU ${starvation.map((f) => `${Math.round(f * 100)}%`).join(' / ')} of the soak (a machine ` +
          'shared with other work): coverage reported, not asserted, on this run.',
      );
    } else {
      expect(coverage).toEqual(Object.fromEntries(Object.keys(coverage).map((k) => [k, true])));
    }
    report.passed();
  });

  it('leaks no key in any log line, response or Redis value', async () => {
    report.set('Redis keys scanned for secrets', await scanRedisForSecrets(redis));
    await cluster.stop();
    expect(scanner.leaks).toEqual([]);
    report.passed();
  });
});
