/**
 * The fleet as a whole, on real processes: the API and four worker processes on the real Redis,
 * providers served by the mock server over HTTP (one pointed at a closed port). A dead provider is
 * found out fleet-wide after the threshold; two workers SIGKILLed mid-run lose none of 500 jobs;
 * SIGTERM drains within its deadline, hands back what it cannot finish, and exits 0; finished
 * jobs are trimmed by count and age. The scenarios run in order on the same fleet.
 */
import { freePort, testRedisUrl, waitFor } from '@switchyard/shared/testing';
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Rig, secretsIn, startRig, user, warmUp } from './router-support.ts';

const THRESHOLD = 5;
const PER_WORKER_CAP = 4; // PROVIDER_CONCURRENCY for the dead providers
const WORKERS = 4;
const SHUTDOWN_TIMEOUT_MS = 2_000;
const RESULT_MAX_COUNT = 100;
const FAILED_TTL_S = 1;

let rig: Rig;
let queueEvents: QueueEvents;
/** Final states by job id, from BullMQ's own event stream (batch jobs send no completion message). */
const finals = new Map<string, Array<{ status: 'completed' | 'failed' }>>();

beforeAll(async () => {
  rig = await startRig({
    label: 'wfleet',
    workers: WORKERS,
    env: {
      WORKER_CONCURRENCY: '16',
      CIRCUIT_FAILURE_THRESHOLD: String(THRESHOLD),
      CIRCUIT_RESET_MS: '60000',
      PROVIDER_CONCURRENCY: `openai=${PER_WORKER_CAP},ollama=${PER_WORKER_CAP}`,
      // Nothing listens there: every call is refused.
      OLLAMA_BASE_URL: `http://127.0.0.1:${await freePort()}/ollama`,
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      RESULT_MAX_COUNT: String(RESULT_MAX_COUNT),
      FAILED_TTL_S: String(FAILED_TTL_S),
      JOB_ATTEMPTS: '1',
    },
  });
  queueEvents = new QueueEvents(rig.queue.name, {
    connection: new Redis(testRedisUrl(), { maxRetriesPerRequest: null }),
    prefix: rig.queue.opts.prefix,
  });
  const record =
    (status: 'completed' | 'failed') =>
    ({ jobId }: { jobId: string }) => {
      finals.set(jobId, [...(finals.get(jobId) ?? []), { status }]);
    };
  queueEvents.on('completed', record('completed'));
  queueEvents.on('failed', record('failed'));
  await queueEvents.waitUntilReady();
  await warmUp(rig, 8);
}, 100_000);
afterAll(async () => {
  await queueEvents?.close();
  await rig?.close();
});

const completed = (ids: readonly string[]) => ids.filter((id) => finals.get(id)?.some((m) => m.status === 'completed')).length;

describe('a dead provider, four workers', () => {
  it('503 everywhere: the circuit opens after the threshold fleet-wide; calls stay within threshold + in-flight cap', async () => {
    // Slow to fail, so the fleet really has its in-flight cap of calls open when the circuit trips.
    rig.mock.setFaults([{ provider: 'openai', model: 'dead', fault: 'latency=200;status=503' }]);
    const ids = await rig.submitBatch(
      Array.from({ length: 200 }, (_, i) => ({ model: 'openai/dead', fallbacks: ['anthropic/alive'], messages: user(`d${i}`) })),
    );
    await waitFor(() => completed(ids) === ids.length, 'every job completed on the fallback', 30_000, 50);
    const calls = rig.timeline.count('openai/dead', 'received');
    const bound = THRESHOLD + WORKERS * PER_WORKER_CAP;
    console.log(
      `503: calls to the dead provider ${calls} (bound ${bound}); peak in flight ${rig.timeline.peakInFlight.get('openai/dead')}`,
    );
    expect(calls).toBeGreaterThanOrEqual(THRESHOLD);
    expect(calls).toBeLessThanOrEqual(bound);
    const circuit = await rig.state.breaker.read('openai');
    expect(circuit).toMatchObject({ state: 'open', trips: 1 });
    // Every worker skipped it: the fleet shares one breaker.
    const skipped = new Set(
      rig
        .logs('router.skip')
        .filter((e) => e.provider === 'openai' && e.reason === 'circuit_open')
        .map((e) => e.worker),
    );
    expect(skipped.size).toBe(WORKERS);
  });

  it('connection refused: the same, counted from the calls the workers made', async () => {
    const ids = await rig.submitBatch(
      Array.from({ length: 150 }, (_, i) => ({ model: 'ollama/llama3.2', fallbacks: ['anthropic/alive'], messages: user(`r${i}`) })),
    );
    await waitFor(() => completed(ids) === ids.length, 'every job completed on the fallback', 30_000, 50);
    const refused = rig.logs('router.call.end').filter((e) => e.provider === 'ollama');
    expect(refused.every((e) => e.outcome === 'network_error')).toBe(true);
    console.log(`refused: calls to the dead provider ${refused.length} (bound ${THRESHOLD + WORKERS * PER_WORKER_CAP})`);
    expect(refused.length).toBeLessThanOrEqual(THRESHOLD + WORKERS * PER_WORKER_CAP);
    expect(await rig.state.breaker.read('ollama')).toMatchObject({ state: 'open', trips: 1 });
  });
});

describe('crashes', () => {
  /** BullMQ's own record (the queue's event stream, written by the same script that finishes a job). */
  async function queueEvents(): Promise<Map<string, string[]>> {
    const stream = (await rig.redis.xrange(`${rig.queue.keys['']}events`, '-', '+')) as Array<[string, string[]]>;
    const byJob = new Map<string, string[]>();
    for (const [, fields] of stream) {
      const jobId = fields[fields.indexOf('jobId') + 1] as string;
      byJob.set(jobId, [...(byJob.get(jobId) ?? []), fields[1] as string]);
    }
    return byJob;
  }

  it('500 jobs with 2 of 4 workers SIGKILLed mid-run: all 500 complete', async () => {
    rig.mock.setFaults([{ provider: 'anthropic', model: 'work', fault: 'latency=200-600' }]);
    const started = Date.now();
    const ids = await rig.submitBatch(Array.from({ length: 500 }, (_, i) => ({ model: 'anthropic/work', messages: user(`w${i}`) })));
    await waitFor(() => completed(ids) >= 100, '100 completions', 20_000, 10);
    const killedAt = Date.now();
    await Promise.all(rig.fleet.workers.slice(0, 2).map((w) => w.kill('SIGKILL')));
    let events = new Map<string, string[]>();
    await waitFor(
      async () => {
        events = await queueEvents();
        return ids.every((id) => events.get(id)?.includes('completed'));
      },
      'all 500 completed',
      40_000,
      250,
    );
    const lastAt = Date.now();
    expect(ids.filter((id) => events.get(id)?.includes('failed'))).toEqual([]);
    // Taken by a killed worker and put back by a survivor's stalled check.
    const recovered = ids.filter((id) => (events.get(id) ?? []).filter((e) => e === 'active').length > 1);
    const stalled = ids.filter((id) => events.get(id)?.includes('stalled'));
    const twice = ids.filter((id) => (events.get(id) ?? []).filter((e) => e === 'completed').length > 1);
    console.log(
      `crash: 500/500 completed, 0 failed; ${stalled.length} stalled and re-run (${recovered.length} activated twice); ` +
        `completed twice ${twice.length}; kill -> last completion ${lastAt - killedAt} ms; total ${lastAt - started} ms`,
    );
    expect(stalled.length).toBeGreaterThan(0);
    expect(twice).toEqual([]);
  });
});

describe('SIGTERM', () => {
  it('a job past the drain deadline is aborted, handed back (not failed) and finished by another worker', async () => {
    rig.mock.setFaults([{ provider: 'anthropic', model: 'long', fault: 'latency=3500' }]);
    const [leaving, staying] = [rig.fleet.workers[2], rig.fleet.workers[3]];
    // More jobs than one worker has slots (WORKER_CONCURRENCY 16): whichever worker takes most, the
    // leaving one holds some (with 8, a busy machine sometimes let the staying one take them all).
    const JOBS = 20;
    const ids = await rig.submitBatch(Array.from({ length: JOBS }, (_, i) => ({ model: 'anthropic/long', messages: user(`l${i}`) })));
    await waitFor(() => rig.timeline.counters('anthropic/long')?.inFlight === JOBS, `${JOBS} calls in flight`, 10_000, 10);
    const signalledAt = Date.now();
    const exit = leaving?.kill('SIGTERM');
    rig.mock.clearFaults(); // what is handed back runs at once elsewhere
    const code = (await exit)?.code;
    const drainMs = (leaving?.exitedAt ?? 0) - signalledAt;
    console.log(`SIGTERM with jobs past the deadline: exit ${code} after ${drainMs} ms (deadline ${SHUTDOWN_TIMEOUT_MS})`);
    expect(code).toBe(0);
    // The drain deadline, then the last reports' flush (up to 1 s) and the close; plus what the
    // machine stalled the processes meanwhile.
    expect(drainMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 1_500 + rig.stalledMs(signalledAt, signalledAt + drainMs));
    const handedBack = leaving?.lines.filter((l) => l.includes('job handed back to the queue on shutdown')).length ?? 0;
    expect(handedBack).toBeGreaterThan(0);
    await waitFor(() => completed(ids) === ids.length, `all ${JOBS} completed`, 20_000, 50);
    expect(staying?.child.exitCode).toBeNull();
    // Handing back used no attempt.
    for (const id of ids) expect((await rig.queue.getJob(id))?.attemptsMade ?? 0).toBeLessThanOrEqual(1);
  });

  it('finished jobs are trimmed: completed by count, failed by age', async () => {
    expect(await rig.queue.getCompletedCount()).toBeLessThanOrEqual(RESULT_MAX_COUNT);
    rig.mock.setFaults([{ provider: 'anthropic', model: 'refuse', fault: 'status=400' }]);
    const first = await rig.submitBatch(Array.from({ length: 5 }, (_, i) => ({ model: 'anthropic/refuse', messages: user(`f${i}`) })));
    await waitFor(() => first.every((id) => finals.has(id)), 'failed', 10_000, 20);
    expect(await rig.queue.getFailedCount()).toBeGreaterThanOrEqual(5);
    await new Promise((r) => setTimeout(r, FAILED_TTL_S * 1000 + 200));
    const [last] = await rig.submitBatch([{ model: 'anthropic/refuse', messages: user('last') }]);
    await waitFor(() => finals.has(last as string), 'failed', 10_000, 20);
    // BullMQ trims by age when the next job finishes in that state.
    expect(await rig.queue.getFailedCount()).toBe(1);
    const jobKeys = await rig.redis.keys(`${rig.queue.keys['']}*`);
    console.log(`queue keys after ${finals.size} jobs: ${jobKeys.length}`);
    expect(jobKeys.length).toBeLessThan(RESULT_MAX_COUNT + 50);
  });

  it('the last worker drains its in-flight jobs within the deadline and exits 0', async () => {
    rig.mock.setFaults([{ provider: 'anthropic', model: 'short', fault: 'latency=800' }]);
    const last = rig.fleet.workers[3];
    const ids = await rig.submitBatch(Array.from({ length: 6 }, (_, i) => ({ model: 'anthropic/short', messages: user(`s${i}`) })));
    await waitFor(() => rig.timeline.counters('anthropic/short')?.inFlight === 6, '6 calls in flight', 10_000, 10);
    const signalledAt = Date.now();
    const code = (await last?.kill('SIGTERM'))?.code;
    const drainMs = (last?.exitedAt ?? 0) - signalledAt;
    console.log(`SIGTERM with short jobs in flight: exit ${code} after ${drainMs} ms`);
    expect(code).toBe(0);
    expect(drainMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS + rig.stalledMs(signalledAt, signalledAt + drainMs));
    // Completed by this worker before it exited (no other worker is left to take them): read from
    // Redis, which the worker wrote before exiting, not from the event stream, which may lag.
    const states = await Promise.all(ids.map((id) => rig.queue.getJobState(id)));
    expect(states).toEqual(ids.map(() => 'completed'));
  });
});

describe('logs', () => {
  it('hold no provider key', () => {
    const lines = [...rig.fleet.workers.flatMap((w) => w.lines), ...rig.fleet.api.lines];
    expect(secretsIn(lines, rig.keys)).toEqual([]);
  });
});
