import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './harness.ts';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  await api?.close();
});

const post = (payload: string | object, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  api.app.inject({ method: 'POST', url: '/v1/jobs', payload: typeof payload === 'string' ? payload : JSON.stringify(payload), headers });

describe('POST /v1/jobs rejects bad bodies with a clear 4xx', () => {
  it('accepts a valid job and stores it on the queue', async () => {
    const res = await post({ model: 'mock/echo', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body.status).toBe('queued');
    const job = await api.ctx.jobs.queue.getJob(body.id);
    expect(job?.data.request.messages[0]?.content).toBe('hi');
  });

  it('missing messages -> 400 naming the field', async () => {
    const res = await post({ model: 'mock/echo' });
    expect(res.statusCode).toBe(400);
    const { error } = res.json();
    expect(error.type).toBe('invalid_request_error');
    expect(error.issues.map((i: { path: string }) => i.path)).toContain('body.messages');
    expect(error.message).toContain('body.messages');
  });

  it('wrong types -> 400 listing every failing path', async () => {
    const res = await post({ model: 42, messages: [{ role: 'user', content: 7 }], temperature: 'hot' });
    expect(res.statusCode).toBe(400);
    const paths = res.json().error.issues.map((i: { path: string }) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['body.model', 'body.messages.0.content', 'body.temperature']));
  });

  it('a model no route or deployment answers to -> 404 model_not_found that says what would work', async () => {
    const res = await post({ model: 'nope/x', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toMatchObject({ code: 'model_not_found', param: 'model' });
    expect(res.json().error.message).toMatch(/`nope\/x` does not exist.*"<deployment>\/<model>" with a deployment of: mock/);
  });

  it('a model name with a space -> 400 naming the field', async () => {
    const res = await post({ model: 'gpt 4o', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toMatch(/model/);
  });

  it('a 2 MB body -> 413', async () => {
    const big = JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(2 * 1024 * 1024) }] });
    const res = await post(big);
    expect(res.statusCode).toBe(413);
    expect(res.json().error.type).toBe('request_too_large');
  });

  it('not JSON -> 400 that says so', async () => {
    const res = await post('{"messages": [');
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toMatch(/not valid JSON/);
  });

  it('a non-JSON content type -> 415', async () => {
    const res = await post('hello', { 'content-type': 'text/plain' });
    expect(res.statusCode).toBe(415);
  });

  it('an unknown field -> 400 (strict bodies catch typos such as max_token)', async () => {
    const res = await post({ messages: [{ role: 'user', content: 'hi' }], max_token: 5 });
    expect(res.statusCode).toBe(400);
    expect(JSON.stringify(res.json().error.issues)).toContain('max_token');
  });

  it('unknown job -> 404, unknown route -> 404, both in the error envelope', async () => {
    const job = await api.app.inject({ method: 'GET', url: '/v1/jobs/does-not-exist' });
    expect(job.statusCode).toBe(404);
    expect(job.json().error.type).toBe('not_found_error');
    const route = await api.app.inject({ method: 'GET', url: '/v1/nothing' });
    expect(route.statusCode).toBe(404);
  });

  it('the same Idempotency-Key returns the same job', async () => {
    const body = { messages: [{ role: 'user', content: 'once' }] };
    const headers = { 'content-type': 'application/json', 'idempotency-key': 'order-42' };
    const first = (await post(body, headers)).json();
    const second = await post(body, headers);
    expect(second.statusCode).toBe(202);
    expect(second.json().id).toBe(first.id);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(await api.ctx.jobs.queue.getJobCountByTypes('wait', 'prioritized')).toBe(2);
  });

  it('healthz answers without I/O; readyz pings Redis', async () => {
    expect((await api.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await api.app.inject({ method: 'GET', url: '/readyz' })).json().status).toBe('ready');
  });
});

describe('auth', () => {
  let secured: TestApi;
  beforeAll(async () => {
    secured = await startTestApi({ API_KEYS: 'client-key-0001,client-key-0002' });
  });
  afterAll(async () => {
    await secured?.close();
  });

  it('requires a valid Bearer key on /v1/* and never echoes it', async () => {
    const none = await secured.app.inject({ method: 'GET', url: '/v1/jobs/x' });
    expect(none.statusCode).toBe(401);
    const wrong = await secured.app.inject({ method: 'GET', url: '/v1/jobs/x', headers: { authorization: 'Bearer wrong-key-123' } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.body).not.toContain('wrong-key-123');
    const right = await secured.app.inject({ method: 'GET', url: '/v1/jobs/x', headers: { authorization: 'Bearer client-key-0002' } });
    expect(right.statusCode).toBe(404);
    const health = await secured.app.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(200);
  });
});
