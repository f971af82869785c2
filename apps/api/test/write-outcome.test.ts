/**
 * A job write that Redis runs but answers late must never reach the client as a bare "unavailable,
 * retry": a client retrying without an Idempotency-Key would get the job twice. On a private
 * redis-server slowed with CLIENT PAUSE while the request is in flight:
 * - a late answer inside the settle window is a normal 202, and the job exists once;
 * - past it, a 503 `outcome_unknown` names the job id(s) and an Idempotency-Key that reaches each
 *   of them, GET /v1/jobs/:id tells whether it exists, and the keyed retry finds the same job.
 * (Redis down, so the write was never sent, stays a fast plain 503: redis-outage.test.ts.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startPrivateRedis, waitFor } from '@switchyard/shared/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SETTLE_MS } from '../src/jobs/write-outcome.ts';
import { startTestApi, type TestApi } from './harness.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Longer than the 1 s command deadline plus the settle window, with room for a busy machine. */
const LONG_PAUSE_MS = 1_000 + SETTLE_MS + 2_000;

let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
let api: TestApi;
let admin: Redis;
const dataDir = mkdtempSync(path.join(tmpdir(), 'sy-api-write-outcome-'));

beforeAll(async () => {
  redis = await startPrivateRedis({ dataDir, appendonly: false });
  api = await startTestApi({ REDIS_URL: redis.url, RATE_LIMIT_RPM: '0' });
  admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  admin.on('error', () => {}); // down on purpose in one test
});
afterEach(async () => {
  await admin.call('CLIENT', 'UNPAUSE').catch(() => {});
});
afterAll(async () => {
  admin?.disconnect();
  await api?.close();
  await redis?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Redis holds every write (scripts included) for `ms`, then runs them: slow, not down. */
async function pauseWrites(ms: number): Promise<{ over: Promise<void> }> {
  await admin.call('CLIENT', 'PAUSE', String(ms), 'WRITE');
  return { over: new Promise((resolve) => setTimeout(resolve, ms + 100)) };
}

/** Every job in the queue whose first message starts with `marker`, by id. */
async function jobsMarked(marker: string): Promise<string[]> {
  const jobs = await api.ctx.jobs.queue.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'], 0, 10_000);
  return jobs
    .filter((job) => String(job.data?.request?.messages?.[0]?.content ?? '').startsWith(marker))
    .map((job) => job.id as string)
    .sort();
}

const job = (content: string) => ({ model: 'mock/echo', messages: [{ role: 'user', content }] });

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - started };
}

describe('a job write Redis answers late', () => {
  it('inside the settle window: a plain 202 with the job id, and the job exists once', async () => {
    // Redis answers halfway through the settle window (the 1 s command deadline, then SETTLE_MS):
    // a second either side for a busy machine to start the request late or read the answer late.
    const pause = await pauseWrites(1_000 + SETTLE_MS / 2);
    const { value: res, ms } = await timed(() => api.app.inject({ method: 'POST', url: '/v1/jobs', payload: job('late-a') }));
    expect(ms).toBeGreaterThan(1_000); // the 1 s command deadline passed: the settle path answered
    expect(res.statusCode).toBe(202);
    const { id } = res.json();
    expect(id).toMatch(UUID);
    await pause.over;
    expect(await jobsMarked('late-a')).toEqual([id]);
  });

  it('past it: 503 outcome_unknown with the job id and a key; GET tells the truth; the keyed retry finds the same job', async () => {
    const pause = await pauseWrites(LONG_PAUSE_MS);
    const { value: res, ms } = await timed(() => api.app.inject({ method: 'POST', url: '/v1/jobs', payload: job('late-b') }));
    expect(ms).toBeLessThan(LONG_PAUSE_MS - 500); // answered while Redis still held the write
    expect(res.statusCode).toBe(503);
    const { error } = res.json();
    expect(error).toMatchObject({ type: 'service_unavailable', code: 'outcome_unknown', param: null });
    expect(error.job_id).toMatch(UUID);
    expect(error.idempotency_key).toBe(`sy-job:${error.job_id}`);
    expect(error.message).toContain(error.job_id);
    expect(res.headers.location).toBe(`/v1/jobs/${error.job_id}`);
    expect(res.headers['x-switchyard-job-id']).toBe(error.job_id);
    expect(res.headers['retry-after']).toBe('1');
    // No key was sent: SDKs that retry 5xx by themselves must not (they would resend without one).
    expect(res.headers['x-should-retry']).toBe('false');
    expect(api.logLines.some((l) => l.includes('job write outcome unknown') && l.includes(error.job_id))).toBe(true);

    await pause.over;
    // Redis ran the held write: the job exists, once, and GET says so.
    const read = await api.app.inject({ method: 'GET', url: `/v1/jobs/${error.job_id}` });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({ id: error.job_id, status: 'queued' });
    expect(await jobsMarked('late-b')).toEqual([error.job_id]);

    const retried = await api.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: { 'idempotency-key': error.idempotency_key },
      payload: job('late-b'),
    });
    expect(retried.statusCode).toBe(202);
    expect(retried.json().id).toBe(error.job_id);
    expect(retried.headers['idempotent-replayed']).toBe('true');
    expect(await jobsMarked('late-b')).toEqual([error.job_id]);
  });

  it('a job-id key for a write that never landed creates that very job, once', async () => {
    const id = '0f0e0d0c-0b0a-4908-8706-050403020100';
    const first = await api.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: { 'idempotency-key': `sy-job:${id}` },
      payload: job('named'),
    });
    expect(first.statusCode).toBe(202);
    expect(first.json().id).toBe(id);
    const again = await api.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: { 'idempotency-key': `sy-job:${id}` },
      payload: job('named'),
    });
    expect(again.json().id).toBe(id);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(await jobsMarked('named')).toEqual([id]);
  });

  it('with an Idempotency-Key: the 503 names the client’s own key and lets SDKs retry', async () => {
    const key = `client-key-${Date.now()}`;
    const pause = await pauseWrites(LONG_PAUSE_MS);
    const res = await api.app.inject({ method: 'POST', url: '/v1/jobs', headers: { 'idempotency-key': key }, payload: job('late-c') });
    expect(res.statusCode).toBe(503);
    const { error } = res.json();
    expect(error).toMatchObject({ code: 'outcome_unknown', idempotency_key: key });
    expect(error.job_id).toMatch(/^idem-[0-9a-f]{32}$/);
    expect(res.headers['x-should-retry']).toBeUndefined();
    await pause.over;
    const retried = await api.app.inject({ method: 'POST', url: '/v1/jobs', headers: { 'idempotency-key': key }, payload: job('late-c') });
    expect(retried.json().id).toBe(error.job_id);
    expect(await jobsMarked('late-c')).toEqual([error.job_id]);
  });

  it('a batch: 503 outcome_unknown with every job id and its key; resending with those keys makes no second job', async () => {
    const pause = await pauseWrites(LONG_PAUSE_MS);
    const itemKey = `item-${Date.now()}`;
    const items = [job('late-d 0'), job('late-d 1'), { ...job('late-d 2'), idempotency_key: itemKey }];
    const res = await api.app.inject({ method: 'POST', url: '/v1/jobs/batch', payload: { jobs: items } });
    expect(res.statusCode).toBe(503);
    const { error } = res.json();
    expect(error.code).toBe('outcome_unknown');
    expect(error.job_ids).toHaveLength(3);
    expect(error.idempotency_keys).toEqual([`sy-job:${error.job_ids[0]}`, `sy-job:${error.job_ids[1]}`, itemKey]);
    expect(res.headers['x-should-retry']).toBe('false');
    await pause.over;
    expect(await jobsMarked('late-d')).toEqual([...error.job_ids].sort());

    const resent = await api.app.inject({
      method: 'POST',
      url: '/v1/jobs/batch',
      payload: { jobs: items.map((item, i) => ({ ...item, idempotency_key: error.idempotency_keys[i] })) },
    });
    expect(resent.statusCode).toBe(202);
    expect(resent.json().ids).toEqual(error.job_ids);
    expect(await jobsMarked('late-d')).toEqual([...error.job_ids].sort());
  });

  it('Redis lost with the write on the wire: 503 outcome_unknown in about the settle window; the keyed retry makes it exactly once', async () => {
    await pauseWrites(30_000);
    const pending = timed(() => api.app.inject({ method: 'POST', url: '/v1/jobs', payload: job('late-f') }));
    await new Promise((r) => setTimeout(r, 1_300)); // past the command deadline: the write is being settled
    await redis.stop();
    const { value: res, ms } = await pending;
    expect(res.statusCode).toBe(503);
    const { error } = res.json();
    expect(error.code).toBe('outcome_unknown');
    expect(ms).toBeLessThan(1_000 + SETTLE_MS + 1_000);

    redis = await startPrivateRedis({ dataDir, port: redis.port, appendonly: false });
    await waitFor(async () => (await api.app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200, 'the API to reconnect', 10_000);
    // Whether the held write ran before Redis went away is exactly what nobody knows: never twice.
    expect((await jobsMarked('late-f')).length).toBeLessThanOrEqual(1);
    const retried = await api.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: { 'idempotency-key': error.idempotency_key },
      payload: job('late-f'),
    });
    expect(retried.statusCode).toBe(202);
    expect(retried.json().id).toBe(error.job_id);
    expect(await jobsMarked('late-f')).toEqual([error.job_id]);
  });

  it.each([false, true])('the OpenAI facade (stream: %s): 503 outcome_unknown with the job id, and no SDK auto-retry', async (stream) => {
    const marker = `late-e-${stream}`;
    const pause = await pauseWrites(LONG_PAUSE_MS);
    const res = await api.app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { ...job(marker), stream } });
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toContain('application/json');
    const { error } = res.json();
    expect(error).toMatchObject({ type: 'service_unavailable', code: 'outcome_unknown', idempotency_key: `sy-job:${error.job_id}` });
    expect(res.headers['x-switchyard-job-id']).toBe(error.job_id);
    expect(res.headers['x-should-retry']).toBe('false');
    await pause.over;
    // The write ran once the pause was over; nothing cancelled it (the streaming path leaves a job
    // whose write outcome is unknown alone), so the keyed retry can find it.
    expect(await jobsMarked(marker)).toEqual([error.job_id]);
    expect((await api.app.inject({ url: `/v1/jobs/${error.job_id}` })).json().status).not.toBe('cancelled');
  });
});
