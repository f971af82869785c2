/**
 * Private jobs, end to end: the API and one worker as real processes, two client keys and one
 * operator key. Another client's job answers exactly like an id that does not exist, on every route
 * that takes a job id (read, long-poll, events, cancel) and through every Idempotency-Key form; its
 * cancel touches nothing; the operator key sees and cancels every job. The owner is stored as a
 * digest, never the key, and reaches no response and no log line.
 *
 * One worker slot (WORKER_CONCURRENCY=1): a job that hangs holds it, so the next job stays queued
 * for as long as the test needs, without depending on timing.
 */
import { createHash, randomUUID } from 'node:crypto';
import { queuePrefix } from '@switchyard/shared';
import { deleteNamespace, testNamespace, testRedisUrl, waitFor } from '@switchyard/shared/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fleet, startFleet } from '../support/processes.ts';

const KEY_ONE = 'key-one-secret-1';
const KEY_TWO = 'key-two-secret-2';
const OPERATOR = 'operator-secret-9';
const namespace = testNamespace('privacy');
let fleet: Fleet;
const responses: string[] = [];

interface Answer {
  status: number;
  type: string;
  text: string;
  json: () => any;
}

async function call(key: string, path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const res = await fetch(`${fleet.apiUrl}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      authorization: `Bearer ${key}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...init.headers,
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  responses.push(text);
  return { status: res.status, type: res.headers.get('content-type') ?? '', text, json: () => JSON.parse(text) } satisfies Answer;
}

const submit = async (key: string, content: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) => {
  const answer = await call(key, '/v1/jobs', { body: { model: 'mock/echo', messages: [{ role: 'user', content }], ...extra }, headers });
  expect(answer.status, answer.text).toBe(202);
  return answer.json().id as string;
};

const statusOf = async (key: string, id: string) => (await call(key, `/v1/jobs/${id}`)).json().status as string;

/** What `key` gets for job `id` on `path`, next to what it gets for an id that never existed. */
async function sideBySide(key: string, id: string, path: (id: string) => string, method = 'GET') {
  const unknown = randomUUID();
  const [theirs, none] = await Promise.all([call(key, path(id), { method }), call(key, path(unknown), { method })]);
  return { theirs, none: { ...none, text: none.text.replaceAll(unknown, id) } };
}

/** Every route that takes a job id answers `key` for `id` exactly as for an unknown id: a 404, byte for byte. */
async function expectIndistinguishable(key: string, id: string) {
  const routes: Array<[(id: string) => string, string]> = [
    [(x) => `/v1/jobs/${x}`, 'GET'],
    [(x) => `/v1/jobs/${x}?wait_ms=2000`, 'GET'],
    [(x) => `/v1/jobs/${x}/events`, 'GET'],
    [(x) => `/v1/jobs/${x}`, 'DELETE'],
  ];
  for (const [path, method] of routes) {
    const { theirs, none } = await sideBySide(key, id, path, method);
    expect(theirs.status, `${method} ${path(id)}`).toBe(404);
    expect(theirs.type, `${method} ${path(id)}`).toBe(none.type);
    expect(theirs.text, `${method} ${path(id)}`).toBe(none.text);
    expect(theirs.json().error).toMatchObject({
      type: 'not_found_error',
      message: `No job with id "${id}". Jobs are kept for RESULT_TTL_S after they finish.`,
    });
  }
}

beforeAll(async () => {
  fleet = await startFleet({
    namespace,
    workers: 1,
    env: {
      API_KEYS: `${KEY_ONE},${KEY_TWO}`,
      ADMIN_API_KEYS: OPERATOR,
      MOCK_PROVIDER: 'true',
      WORKER_CONCURRENCY: '1',
      JOB_ATTEMPTS: '1',
      ATTEMPT_TIMEOUT_MS: '120000',
      JOB_BUDGET_MS: '120000',
      RATE_LIMIT_RPM: '0',
    },
  });
});

afterAll(async () => {
  await fleet?.stop();
  await deleteNamespace(testRedisUrl(), namespace);
});

describe('jobs are private to the key that submitted them', () => {
  it('another key cannot read, long-poll, follow or cancel a finished job; its owner and an operator can', async () => {
    const id = await submit(KEY_ONE, 'the private prompt of key one');
    const done = (await call(KEY_ONE, `/v1/jobs/${id}?wait_ms=30000`)).json();
    expect(done.status).toBe('completed');
    expect(done.result.content).toContain('the private prompt of key one');

    await expectIndistinguishable(KEY_TWO, id);

    // Untouched by all of that, and an operator key reads it and follows it too.
    expect(await statusOf(KEY_ONE, id)).toBe('completed');
    const seen = (await call(OPERATOR, `/v1/jobs/${id}`)).json();
    expect(seen).toMatchObject({ id, status: 'completed' });
    expect(seen.result.content).toContain('the private prompt of key one');
    const events = await call(OPERATOR, `/v1/jobs/${id}/events`);
    expect(events.status).toBe(200);
    expect(events.type).toContain('text/event-stream');
    expect(events.text).toContain('the private prompt of key one');
  });

  it("another key's cancel of an active or a queued job is a 404 and cancels nothing; the owner's and an operator's do", async () => {
    // Holds the worker's only slot until it is cancelled.
    const active = await submit(KEY_ONE, '[[mock:hang]] key one keeps the worker busy', { budget_ms: 120_000 });
    await waitFor(async () => (await statusOf(KEY_ONE, active)) === 'active', 'the hanging job to become active', 30_000, 100);
    const queued = await submit(KEY_ONE, 'key one waits in the queue');
    expect(await statusOf(KEY_ONE, queued)).toBe('queued');

    await expectIndistinguishable(KEY_TWO, active);
    await expectIndistinguishable(KEY_TWO, queued);
    // Neither was cancelled: the worker would have aborted the active one, the queued one been removed.
    expect(await statusOf(KEY_ONE, active)).toBe('active');
    expect(await statusOf(KEY_ONE, queued)).toBe('queued');

    // The owner cancels the queued one: removed from the queue, only its cancel mark is left, and
    // that mark keeps it private too.
    const cancelled = await call(KEY_ONE, `/v1/jobs/${queued}`, { method: 'DELETE' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.json().status).toBe('cancelled');
    await expectIndistinguishable(KEY_TWO, queued);
    expect(await statusOf(KEY_ONE, queued)).toBe('cancelled');
    expect(await statusOf(OPERATOR, queued)).toBe('cancelled');

    // An operator key cancels another client's active job.
    const byOperator = await call(OPERATOR, `/v1/jobs/${active}`, { method: 'DELETE' });
    expect([200, 202]).toContain(byOperator.status);
    await waitFor(async () => (await statusOf(KEY_ONE, active)) === 'cancelled', 'the operator cancel to land', 15_000, 100);
  });

  it("an Idempotency-Key never resolves to another client's job, in any of its forms", async () => {
    const mine = await submit(KEY_ONE, 'key one, keyed', {}, { 'idempotency-key': 'order-17' });
    // The same key from another client is another job.
    const theirs = await submit(KEY_TWO, 'key two, same key', {}, { 'idempotency-key': 'order-17' });
    expect(theirs).not.toBe(mine);
    expect((await call(KEY_TWO, `/v1/jobs/${theirs}?wait_ms=30000`)).json().result.content).toContain('key two, same key');
    // Its owner resubmitting gets it back.
    const again = await call(KEY_ONE, '/v1/jobs', {
      body: { model: 'mock/echo', messages: [{ role: 'user', content: 'x' }] },
      headers: { 'idempotency-key': 'order-17' },
    });
    expect(again.status).toBe(202);
    expect(again.json().id).toBe(mine);

    // `sy-job:<id>` names a job id outright (the key a 503 hands a client that sent none): its
    // owner gets the job back; another client gets a 409, never the job.
    const plain = await submit(KEY_ONE, 'key one, plain');
    const named = { 'idempotency-key': `sy-job:${plain}` };
    const replay = await call(KEY_ONE, '/v1/jobs', { body: { messages: [{ role: 'user', content: 'x' }] }, headers: named });
    expect(replay.status).toBe(202);
    expect(replay.json().id).toBe(plain);
    const single = await call(KEY_TWO, '/v1/jobs', { body: { messages: [{ role: 'user', content: 'mine now?' }] }, headers: named });
    expect(single.status).toBe(409);
    expect(single.json().error).toMatchObject({ type: 'invalid_request_error', code: 'idempotency_key_conflict' });
    expect(single.text).not.toContain('key one, plain');
    const batch = await call(KEY_TWO, '/v1/jobs/batch', {
      body: {
        jobs: [
          { messages: [{ role: 'user', content: 'a' }] },
          { messages: [{ role: 'user', content: 'b' }], idempotency_key: `sy-job:${plain}` },
        ],
      },
    });
    expect(batch.status).toBe(409);
    expect(batch.json().error.message).toContain('jobs[1].idempotency_key');
    const facade = await call(KEY_TWO, '/v1/chat/completions', {
      body: { model: 'mock/echo', messages: [{ role: 'user', content: 'mine now?' }] },
      headers: named,
    });
    expect(facade.status).toBe(409);
    expect(facade.text).not.toContain('key one, plain');
    const streamed = await call(KEY_TWO, '/v1/chat/completions', {
      body: { model: 'mock/echo', stream: true, messages: [{ role: 'user', content: 'mine now?' }] },
      headers: named,
    });
    expect(streamed.status).toBe(409);
    expect(streamed.text).not.toContain('key one, plain');

    // None of that touched key one's jobs.
    for (const [id, content] of [
      [mine, 'key one, keyed'],
      [plain, 'key one, plain'],
    ]) {
      const view = (await call(KEY_ONE, `/v1/jobs/${id}?wait_ms=30000`)).json();
      expect(view.status).toBe('completed');
      expect(view.result.content).toContain(content);
    }
  });

  it('stores the owner as a digest with the job, and never shows it or the key in a response or a log line', async () => {
    const id = await submit(KEY_ONE, 'whose is this');
    await call(KEY_ONE, `/v1/jobs/${id}?wait_ms=30000`);
    const owner = createHash('sha256').update(`switchyard-job-owner\0${KEY_ONE}`).digest('hex');
    const redis = new Redis(testRedisUrl());
    try {
      const data = JSON.parse((await redis.hget(`${queuePrefix(namespace)}:llm-jobs:${id}`, 'data')) as string);
      expect(data.owner).toBe(owner);
      const stored = (await redis.hgetall(`${queuePrefix(namespace)}:llm-jobs:${id}`)) as Record<string, string>;
      expect(JSON.stringify(stored)).not.toContain(KEY_ONE);
    } finally {
      redis.disconnect();
    }
    const logs = [...fleet.api.lines, ...fleet.workers.flatMap((w) => w.lines)].join('\n');
    for (const secret of [KEY_ONE, KEY_TWO, OPERATOR, owner]) {
      expect(logs).not.toContain(secret);
      expect(responses.some((text) => text.includes(secret))).toBe(false);
    }
    expect(responses.some((text) => text.includes('"owner"'))).toBe(false);
  });
});
