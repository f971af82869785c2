/**
 * The router's claims (issue 5) on real processes: the API and two worker processes on the real
 * Redis, every provider served by the mock server over HTTP. Each scenario uses models of its own
 * (fault rules match by model), and circuits are closed again between scenarios.
 * Durations come from what the system records (BullMQ's processedOn/finishedOn, the attempts the
 * router records, the workers' log times, the mock server's counters) rather than the test's clock.
 */

import { waitFor } from '@switchyard/shared/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { callsReceived, PROVIDERS, type Rig, startRig, warmUp } from './router-support.ts';

const HEDGE_DELAY_MS = 500;
const HEDGE_STAGGER_MS = 200;
const THRESHOLD = 3;
const JOB_ATTEMPTS = 3;
const JOB_BACKOFF_MS = 300;

let rig: Rig;

beforeAll(async () => {
  rig = await startRig({
    label: 'rroute',
    workers: 2,
    env: {
      WORKER_CONCURRENCY: '8',
      HEDGE_DELAY_MS: String(HEDGE_DELAY_MS),
      HEDGE_STAGGER_MS: String(HEDGE_STAGGER_MS),
      HEDGE_BURST: '100',
      CIRCUIT_FAILURE_THRESHOLD: String(THRESHOLD),
      CIRCUIT_RESET_MS: '60000',
      JOB_ATTEMPTS: String(JOB_ATTEMPTS),
      JOB_BACKOFF_MS: String(JOB_BACKOFF_MS),
      LOG_LEVEL: 'debug',
    },
  });
  await warmUp(rig);
}, 100_000);
afterAll(async () => {
  await rig?.close();
});
beforeEach(async () => {
  await rig.resetProviders();
});

const user = (content: string) => [{ role: 'user', content }];

async function circuits() {
  return Object.fromEntries(await Promise.all(PROVIDERS.map(async (p) => [p, await rig.state.breaker.read(p)] as const)));
}

describe('budget', () => {
  // A timing claim on a shared 2-core machine: one retry for a scheduler hiccup.
  it('with every provider hanging, a 2,000 ms job ends by 2,100 ms, every time, and is not retried', { retry: 1 }, async () => {
    rig.mock.setFaults([{ provider: '*', model: 'budget-hang', fault: 'hang' }]);
    const JOBS = 6;
    const ids = await Promise.all(
      Array.from({ length: JOBS }, (_, i) =>
        rig.submit({
          model: 'openai/budget-hang',
          fallbacks: ['anthropic/budget-hang', 'gemini/budget-hang'],
          messages: user(`budget ${i}`),
          budget_ms: 2000,
        }),
      ),
    );
    const views = await Promise.all(ids.map((id) => rig.waitView(id, 10_000)));
    const figures = [];
    for (const [i, view] of views.entries()) {
      expect(view.status).toBe('failed');
      expect(view.error?.class).toBe('aborted');
      const job = await rig.queue.getJob(ids[i] as string);
      expect(job?.attemptsMade).toBe(1); // the budget is final: no queue-level retry
      const queueMs = (job?.finishedOn ?? 0) - (job?.processedOn ?? 0);
      const routed = rig.logs('router.job.failed').find((e) => e.jobId === ids[i]);
      const attempts = view.error?.attempts ?? [];
      expect(attempts.length).toBe(3); // primary, then two hedges
      for (const a of attempts) {
        expect(a.outcome).toBe('aborted');
        expect(a.started_ms + a.latency_ms).toBeLessThanOrEqual(2100);
      }
      // queueMs: active -> failed as BullMQ recorded it; routerMs: the router's own budget clock,
      // which starts after the job's pre-routing work (sinceActiveMs), already taken off its budget.
      figures.push({
        queueMs,
        routerMs: Number(routed?.latencyMs),
        sinceActiveMs: Number(rig.logs('job started').find((e) => e.jobId === ids[i])?.sinceActiveMs),
      });
      expect((routed?.time ?? 0) - (job?.processedOn ?? 0)).toBeLessThanOrEqual(2100);
      expect(queueMs).toBeLessThanOrEqual(2100);
    }
    // The mock server saw every call's connection closed, none left open.
    for (const p of PROVIDERS) {
      const c = rig.timeline.counters(`${p}/budget-hang`);
      expect(c?.received).toBe(JOBS);
      expect(c?.abandoned).toBe(JOBS);
      expect(c?.inFlight).toBe(0);
    }
    console.log('budget: active -> failed per job', JSON.stringify(figures));
  });
});

describe('hedging', () => {
  it('primary at 3 s, fallback at 50 ms: the job ends near HEDGE_DELAY_MS + 50 ms and the primary is abandoned', async () => {
    rig.mock.setFaults([
      { provider: 'openai', model: 'hedge-slow', fault: 'latency=3000' },
      { provider: 'anthropic', model: 'hedge-fast', fault: 'latency=50' },
    ]);
    const JOBS = 4;
    const ids = await Promise.all(
      Array.from({ length: JOBS }, (_, i) =>
        rig.submit({ model: 'openai/hedge-slow', fallbacks: ['anthropic/hedge-fast'], messages: user(`hedge ${i}`) }),
      ),
    );
    const views = await Promise.all(ids.map((id) => rig.waitView(id)));
    const latencies = views.map((v) => v.result?.latency_ms ?? -1);
    for (const view of views) {
      expect(view.status).toBe('completed');
      expect(view.result?.provider).toBe('anthropic');
      const [primary, hedge] = view.result?.attempts ?? [];
      expect(primary?.outcome).toBe('aborted');
      expect(hedge?.hedge).toBe(true);
      expect(hedge?.started_ms).toBeGreaterThanOrEqual(HEDGE_DELAY_MS);
      expect(view.result?.latency_ms).toBeGreaterThanOrEqual(HEDGE_DELAY_MS + 50);
      expect(view.result?.latency_ms).toBeLessThan(HEDGE_DELAY_MS + 50 + 250);
    }
    // The primary's connections were closed by the workers long before its 3 s answer.
    await callsReceived(rig, 'openai/hedge-slow', JOBS);
    const slow = rig.timeline.counters('openai/hedge-slow');
    expect(slow?.abandoned).toBe(JOBS);
    expect(slow?.completed).toBe(0);
    const received = rig.timeline.of('openai/hedge-slow', 'received')[0]?.at ?? 0;
    const abandoned = rig.timeline.of('openai/hedge-slow', 'abandoned').at(-1)?.at ?? Number.POSITIVE_INFINITY;
    expect(abandoned - received).toBeLessThan(1500);
    console.log('hedge latencies', latencies);
  });

  it('hedge losers and budget aborts leave every breaker closed', async () => {
    rig.mock.setFaults([
      { provider: 'openai', model: 'loser', fault: 'latency=2000' },
      { provider: 'anthropic', model: 'winner', fault: 'latency=20' },
      { provider: '*', model: 'hang', fault: 'hang' },
    ]);
    // More losers than the threshold, and budget aborts on every provider.
    const losers = Array.from({ length: THRESHOLD * 2 }, (_, i) =>
      rig.submit({ model: 'openai/loser', fallbacks: ['anthropic/winner'], messages: user(`loser ${i}`) }),
    );
    const budget = Array.from({ length: THRESHOLD + 1 }, (_, i) =>
      rig.submit({ model: 'openai/hang', fallbacks: ['anthropic/hang', 'gemini/hang'], messages: user(`b ${i}`), budget_ms: 800 }),
    );
    const ids = await Promise.all([...losers, ...budget]);
    const views = await Promise.all(ids.map((id) => rig.waitView(id)));
    expect(views.filter((v) => v.status === 'completed')).toHaveLength(THRESHOLD * 2);
    expect(views.filter((v) => v.error?.class === 'aborted')).toHaveLength(THRESHOLD + 1);
    await new Promise((r) => setTimeout(r, 200)); // reports are fire-and-forget
    for (const [provider, circuit] of Object.entries(await circuits())) {
      expect(circuit.state, provider).toBe('closed');
      expect(circuit.consecutive_failures, provider).toBe(0);
      expect(circuit.trips, provider).toBe(0);
    }
  });
});

describe('fallback', () => {
  it('401 on the primary: the fallback starts at once and the primary becomes api_key_invalid', async () => {
    rig.mock.setFaults([{ provider: 'openai', model: 'auth-401', fault: 'status=401' }]);
    const id = await rig.submit({ model: 'openai/auth-401', fallbacks: ['anthropic/auth-ok'], messages: user('key rotated') });
    const view = await rig.waitView(id);
    expect(view.status).toBe('completed');
    expect(view.result?.provider).toBe('anthropic');
    const [primary, fallback] = view.result?.attempts ?? [];
    expect(primary?.outcome).toBe('api_key_invalid');
    expect(fallback?.hedge).toBe(false);
    // Started on the primary's failure, not on the hedge timer.
    const gap = (fallback?.started_ms ?? 0) - ((primary?.started_ms ?? 0) + (primary?.latency_ms ?? 0));
    expect(gap).toBeLessThan(50);
    expect(fallback?.started_ms).toBeLessThan(HEDGE_DELAY_MS);
    const record = await waitFor(async () => {
      const r = await rig.state.records.read('openai');
      return r?.state === 'api_key_invalid' ? r : null;
    }, 'openai state api_key_invalid');
    expect(record.last_error?.class).toBe('api_key_invalid');
    expect(record.last_error?.message).not.toContain(rig.keys.OPENAI_API_KEY);
    // The fleet's status, as clients see it.
    const status = (await (await fetch(`${rig.fleet.apiUrl}/v1/providers/status`)).json()) as {
      providers: Array<{ provider: string; state: string }>;
    };
    expect(status.providers.find((p) => p.provider === 'openai')?.state).toBe('api_key_invalid');
    const circuit = await rig.state.breaker.read('openai');
    expect(circuit.consecutive_failures).toBe(1); // api_key_invalid counts toward the breaker
    console.log('401 -> fallback start gap ms', gap);
  });
});

// Last: it opens circuits, which workers remember locally for up to a second.
describe('queue-level retries', () => {
  it('bad_request fails the job at once; a transient failure is retried JOB_ATTEMPTS times with exponential backoff', async () => {
    rig.mock.setFaults([
      { provider: 'openai', model: 'refuse-400', fault: 'status=400' },
      { provider: '*', model: 'down-503', fault: 'status=503' },
    ]);
    const [refused, transient] = await Promise.all([
      rig.submit({ model: 'openai/refuse-400', fallbacks: ['anthropic/refuse-400'], messages: user('refused') }),
      rig.submit({ model: 'openai/down-503', fallbacks: ['gemini/down-503'], messages: user('down'), budget_ms: 1500 }),
    ]);
    const refusedView = await rig.waitView(refused);
    expect(refusedView.status).toBe('failed');
    expect(refusedView.error?.class).toBe('bad_request');
    expect((await rig.queue.getJob(refused))?.attemptsMade).toBe(1);
    expect(rig.timeline.count('anthropic/refuse-400', 'received')).toBe(0); // no fallback for a bad request

    const view = await rig.waitView(transient, 20_000);
    expect(view.status).toBe('failed');
    expect(['service_unavailable', 'no_provider_available']).toContain(view.error?.class);
    expect((await rig.queue.getJob(transient))?.attemptsMade).toBe(JOB_ATTEMPTS);
    const byTime = (a: { time: number }, b: { time: number }) => a.time - b.time;
    const started = rig
      .logs('job started')
      .filter((e) => e.jobId === transient)
      .sort(byTime);
    const failed = rig
      .logs('job attempt failed')
      .filter((e) => e.jobId === transient)
      .sort(byTime);
    expect(started.map((e) => e.attempt)).toEqual([1, 2, 3]);
    expect(failed.map((e) => e.permanent)).toEqual([false, false, false]);
    // BullMQ's exponential backoff with jitter 0.5: after attempt n, between half and all of 2^(n-1) x JOB_BACKOFF_MS.
    const gaps = [1, 2].map((n) => (started[n]?.time ?? 0) - (failed[n - 1]?.time ?? 0));
    console.log('retry gaps (ms)', gaps);
    expect(gaps[0]).toBeGreaterThanOrEqual(JOB_BACKOFF_MS * 0.5 - 20);
    expect(gaps[0]).toBeLessThan(JOB_BACKOFF_MS + 250);
    expect(gaps[1]).toBeGreaterThanOrEqual(JOB_BACKOFF_MS - 20);
    expect(gaps[1]).toBeLessThan(JOB_BACKOFF_MS * 2 + 250);
    // One final-state message only, after the last attempt: the API answered the long-poll then.
    expect(rig.logs('job attempt failed').filter((e) => e.jobId === transient)).toHaveLength(JOB_ATTEMPTS);
  });
});
