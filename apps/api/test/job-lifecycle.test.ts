/**
 * Job routes beyond submit/read, on a real Redis with apps/worker's JobWorker: SSE events,
 * cancellation of queued, active and final jobs, batches, idempotency.
 */
import { decodeJobDone, type JobEvent, type JobResult, jobDoneChannel, jobEventsChannel } from '@switchyard/shared';
import { waitFor } from '@switchyard/shared/testing';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECHECK_MS } from '../src/jobs/job-service.ts';
import { startTestApi, type TestApi } from './harness.ts';
import { type EchoWorker, startEchoWorker } from './support/echo-worker.ts';

let api: TestApi; // with a worker
let idle: TestApi; // no worker: jobs stay queued
let worker: EchoWorker;
let base: string;

beforeAll(async () => {
  [api, idle] = await Promise.all([startTestApi({ RATE_LIMIT_RPM: '0' }), startTestApi({ RATE_LIMIT_RPM: '0' })]);
  base = await api.app.listen({ host: '127.0.0.1', port: 0 });
  // No clock-skew margin: every job here is created after the worker subscribed, so per-job events
  // go out only for streaming or watched jobs, as in a long-running fleet.
  worker = await startEchoWorker({ REDIS_URL: api.redisUrl, SWITCHYARD_NAMESPACE: api.namespace }, { clockSkewMs: 0 });
});
afterAll(async () => {
  await worker?.close();
  await Promise.all([api?.close(), idle?.close()]);
});

const json = { 'content-type': 'application/json' };
async function submit(target: TestApi, content: string, extra: Record<string, unknown> = {}) {
  const res = await target.app.inject({
    method: 'POST',
    url: '/v1/jobs',
    headers: json,
    payload: { model: 'mock/echo', messages: [{ role: 'user', content }], ...extra },
  });
  expect(res.statusCode).toBe(202);
  return res.json().id as string;
}

/** Parses an SSE body into events. */
function parseSse(body: string): Array<{ event: string; data: any }> {
  return body
    .split('\n\n')
    .filter((block) => /^data: /m.test(block))
    .map((block) => ({
      event: /^event: (.*)$/m.exec(block)?.[1] ?? 'message',
      data: JSON.parse(
        block
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6))
          .join('\n'),
      ),
    }));
}

describe('GET /v1/jobs/:id/events', () => {
  it('streams the current state, tokens, and the final state with the result', async () => {
    const id = await submit(api, 'hold: alpha beta gamma delta', { stream: true });
    const res = await fetch(`${base}/v1/jobs/${id}/events`);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    // The stream answers only once its subscription is confirmed: now the job may stream its tokens.
    worker.release(id);
    const events = parseSse(await res.text());
    expect(events[0]?.event).toBe('state');
    expect(['queued', 'active']).toContain(events[0]?.data.status);
    const tokens = events.filter((e) => e.event === 'token');
    expect(tokens.map((t) => t.data.delta).join('')).toBe('alpha beta gamma delta');
    expect(tokens.map((t) => t.data.index)).toEqual(tokens.map((_, i) => i));
    const last = events.at(-1);
    expect(last?.event).toBe('state');
    expect(last?.data.status).toBe('completed');
    expect(last?.data.result.content).toBe('alpha beta gamma delta');
  });

  it('workers publish state events only for jobs someone follows', async () => {
    const recorder = new Redis(api.redisUrl);
    const published: Array<{ jobId: string; event: JobEvent }> = [];
    const prefix = jobEventsChannel(api.namespace, '');
    recorder.on('pmessage', (_p: string, channel: string, raw: string) => {
      published.push({ jobId: channel.slice(prefix.length), event: JSON.parse(raw) as JobEvent });
    });
    await recorder.psubscribe(`${prefix}*`);
    try {
      // Nobody follows this one: no per-job PUBLISH at all.
      const quiet = await submit(api, 'sleep:100 quiet');
      expect((await api.app.inject({ url: `/v1/jobs/${quiet}?wait_ms=30000` })).json().status).toBe('completed');

      // Fill every slot, so the followed job waits in the queue until its stream is open.
      const blockers = await Promise.all(Array.from({ length: 8 }, () => submit(api, 'hold: blocker')));
      await waitFor(() => blockers.every((b) => worker.started.includes(b)) || null, 'blockers running', 10_000, 10);
      const followed = await submit(api, 'followed job');
      const stream = await fetch(`${base}/v1/jobs/${followed}/events`);
      // The stream is subscribed and has told the workers: free the slots.
      for (const b of blockers) worker.release(b);
      const events = parseSse(await stream.text());
      expect(events.map((e) => e.data.status)).toEqual(['queued', 'active', 'completed']);
      await Promise.all(blockers.map((b) => api.app.inject({ url: `/v1/jobs/${b}?wait_ms=10000` })));
      // Redis delivers one connection's messages in publish order: once a marker published now has
      // arrived, so has every event the workers published for these jobs.
      const marker = `${prefix}marker-${followed}`;
      await api.ctx.redis.publish(marker, '{}');
      await waitFor(() => published.some((p) => p.jobId === `marker-${followed}`), 'the marker event', 10_000, 10);
      expect(published.filter((p) => p.jobId === quiet)).toEqual([]);
      expect(published.filter((p) => blockers.includes(p.jobId))).toEqual([]);
      expect(published.filter((p) => p.jobId === followed).map((p) => p.event)).toMatchObject([
        { type: 'state', status: 'active' },
        { type: 'state', status: 'completed' },
      ]);
    } finally {
      recorder.disconnect();
    }
  });

  it('a final job: one state event, then the stream ends; an unknown job: 404', async () => {
    const id = await submit(api, 'done soon');
    await waitFor(async () => (await api.ctx.jobs.view(id))?.status === 'completed', 'completion', 30_000);
    const res = await api.app.inject({ method: 'GET', url: `/v1/jobs/${id}/events` });
    const events = parseSse(res.body);
    expect(events).toHaveLength(1);
    expect(events[0]?.data).toMatchObject({ id, status: 'completed', result: { content: 'done soon' } });
    const missing = await api.app.inject({ method: 'GET', url: '/v1/jobs/nope/events' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.type).toBe('not_found_error');
  });
});

describe('GET /v1/jobs/:id?wait_ms over real HTTP', () => {
  it('holds the request until the job is final', async () => {
    const id = await submit(api, 'hold: waited for');
    await waitFor(() => worker.started.includes(id), 'the worker to start the job', 10_000, 10);
    const waitingBefore = api.ctx.hub.waiting;
    const res = fetch(`${base}/v1/jobs/${id}?wait_ms=10000`);
    // The request is waiting on a job that cannot finish before release(): the completed answer
    // below can only come from a request held until then.
    await waitFor(() => api.ctx.hub.waiting > waitingBefore, 'the request to wait for the job', 10_000, 10);
    expect((await api.ctx.jobs.view(id))?.status).toBe('active');
    worker.release(id);
    const body = await (await res).json();
    expect(body).toMatchObject({ id, status: 'completed', result: { content: 'waited for' } });
  });
});

describe('completion messages', () => {
  it('go out for jobs a request waits on and for every failure, never for completions nobody awaits', async () => {
    const recorder = new Redis(api.redisUrl);
    const announced: string[] = [];
    recorder.on('message', (_channel: string, raw: string) => {
      const message = decodeJobDone(raw);
      if (message) announced.push(`${message.id} ${message.status}`);
    });
    await recorder.subscribe(jobDoneChannel(api.namespace));
    try {
      const quiet = await submit(api, 'nobody waits');
      const failing = await submit(api, 'fail:bad_request');
      await waitFor(async () => (await api.ctx.jobs.view(quiet))?.status === 'completed' || null, 'quiet completed', 30_000, 10);
      await waitFor(async () => (await api.ctx.jobs.view(failing))?.status === 'failed' || null, 'failing failed', 30_000, 10);

      const polled = await submit(api, 'sleep:300 long-polled');
      expect((await api.app.inject({ url: `/v1/jobs/${polled}?wait_ms=30000` })).json().status).toBe('completed');

      const facade = await api.app.inject({
        method: 'POST',
        url: '/v1/chat/completions',
        headers: json,
        payload: { model: 'mock/echo', messages: [{ role: 'user', content: 'through the facade' }] },
      });
      expect(facade.statusCode).toBe(200);
      const facadeId = facade.headers['x-switchyard-job-id'] as string;

      // Redis delivers one connection's messages in publish order: once the facade job's message
      // has arrived, every earlier completion message has too.
      await waitFor(() => announced.includes(`${facadeId} completed`) || null, 'the facade job announced', 10_000, 10);
      expect(announced).toContain(`${failing} failed`);
      expect(announced).toContain(`${polled} completed`);
      expect(announced.filter((a) => a.startsWith(quiet))).toEqual([]);
    } finally {
      recorder.disconnect();
    }
  });

  it('a long-poll whose announcement crossed the completion answers at its first read back, not seconds later', async () => {
    // A worker that completes jobs without ever publishing, as when the long-poll's announcement
    // reaches the worker only after it finished the job.
    const own = await startTestApi({ RATE_LIMIT_RPM: '0' });
    const { queue } = own.ctx.jobs;
    const result: JobResult = {
      provider: 'mock',
      model: 'echo',
      content: 'done silently',
      finish_reason: 'stop',
      usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
      latency_ms: 150,
      attempts: [],
    };
    const silent = new Worker(queue.name, async () => new Promise((r) => setTimeout(() => r(result), 150)), {
      connection: new Redis(own.redisUrl, { maxRetriesPerRequest: null }),
      prefix: queue.opts.prefix,
    });
    try {
      const id = await submit(own, 'silent');
      const started = Date.now();
      const res = await own.app.inject({ url: `/v1/jobs/${id}?wait_ms=10000` });
      const tookMs = Date.now() - started;
      expect(res.json()).toMatchObject({ id, status: 'completed', result: { content: 'done silently' } });
      // The read back after ANNOUNCED_RECHECK_MS (250 ms), not RECHECK_MS (5 s): anything under
      // RECHECK_MS proves it, however slowly this machine ran the rest.
      expect(tookMs).toBeLessThan(RECHECK_MS);
    } finally {
      await silent.close();
      await own.close();
    }
  });
});

describe('DELETE /v1/jobs/:id', () => {
  it('a queued job is removed, reads as cancelled, wakes its waiters and never runs', async () => {
    const id = await submit(idle, 'never run me');
    const waitingBefore = idle.ctx.hub.waiting;
    const poll = idle.app.inject({ method: 'GET', url: `/v1/jobs/${id}?wait_ms=10000` });
    await waitFor(() => idle.ctx.hub.waiting > waitingBefore, 'the long-poll to wait for the job', 10_000, 10);
    const started = Date.now();
    const res = await idle.app.inject({ method: 'DELETE', url: `/v1/jobs/${id}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id, status: 'cancelled' });
    const polled = await poll;
    // Woken by the cancel, not left to a RECHECK_MS (5 s) read back: anything under RECHECK_MS
    // proves it, however slowly this machine ran the DELETE's own round trips.
    expect(Date.now() - started).toBeLessThan(RECHECK_MS);
    expect(polled.json()).toMatchObject({ id, status: 'cancelled', error: { class: 'aborted' } });
    expect(await idle.ctx.jobs.queue.getJob(id)).toBeUndefined();
    expect((await idle.app.inject({ method: 'GET', url: `/v1/jobs/${id}` })).json().status).toBe('cancelled');
  });

  it('an active job has its provider calls aborted within 100 ms of the worker hearing of it', async () => {
    const id = await submit(api, 'sleep:20000 long answer');
    await waitFor(() => worker.started.includes(id), 'the worker to start the job', 30_000);
    const started = Date.now();
    const res = await api.app.inject({ method: 'DELETE', url: `/v1/jobs/${id}` });
    const took = Date.now() - started;
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id, status: 'cancelled', error: { class: 'aborted', message: 'cancelled by client' } });
    // The 20 s job reads cancelled, so the worker aborted it; and before the cancel's 1.5 s settle
    // wait (job-cancel.ts) ran out, so the abort, not that deadline, ended the wait.
    expect(took).toBeLessThan(1_500);
  });

  it('a final job is returned unchanged; an unknown one is a 404', async () => {
    const id = await submit(api, 'keep me');
    await waitFor(async () => (await api.ctx.jobs.view(id))?.status === 'completed', 'completion', 30_000);
    const res = await api.app.inject({ method: 'DELETE', url: `/v1/jobs/${id}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id, status: 'completed', result: { content: 'keep me' } });
    expect((await api.app.inject({ method: 'DELETE', url: '/v1/jobs/unknown-id' })).statusCode).toBe(404);
  });
});

describe('POST /v1/jobs/batch', () => {
  const jobs = (n: number, prefix = 'b') =>
    Array.from({ length: n }, (_, i) => ({ messages: [{ role: 'user', content: `${prefix}${i}` }] }));
  const batch = (payload: unknown, headers: Record<string, string> = {}) =>
    idle.app.inject({ method: 'POST', url: '/v1/jobs/batch', headers: { ...json, ...headers }, payload: payload as object });

  it('adds up to 1,000 jobs in one request and returns their ids', async () => {
    const res = await batch({ jobs: jobs(1000) });
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body.count).toBe(1000);
    expect(new Set(body.ids).size).toBe(1000);
    const job = await idle.ctx.jobs.queue.getJob(body.ids[999]);
    expect(job?.data.request.messages[0]?.content).toBe('b999');
  });

  it('per-item idempotency keys and a batch Idempotency-Key return the same ids again', async () => {
    const items = [
      { ...jobs(1, 'x')[0], idempotency_key: 'item-a' },
      { ...jobs(1, 'y')[0], idempotency_key: 'item-b' },
    ];
    const first = (await batch({ jobs: items })).json().ids;
    const again = (await batch({ jobs: items })).json().ids;
    expect(again).toEqual(first);
    const keyed = (await batch({ jobs: jobs(3, 'k') }, { 'idempotency-key': 'batch-7' })).json().ids;
    expect((await batch({ jobs: jobs(3, 'k') }, { 'idempotency-key': 'batch-7' })).json().ids).toEqual(keyed);
  });

  it('rejects 1,001 jobs, an empty batch and a bad item with 400s naming the path', async () => {
    expect((await batch({ jobs: jobs(1001) })).statusCode).toBe(400);
    expect((await batch({ jobs: [] })).statusCode).toBe(400);
    const bad = await batch({ jobs: [jobs(1)[0], { messages: [] }] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.issues.map((i: { path: string }) => i.path)).toContain('body.jobs.1.messages');
  });
});
