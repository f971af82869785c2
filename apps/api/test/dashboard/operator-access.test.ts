/**
 * Operator keys over real HTTP: with ADMIN_API_KEYS set, what shows every job or the whole fleet
 * (the dashboard's data and stream, bull-board and its API, /metrics, /v1/config, bull-board's session cookie)
 * refuses client keys with a 403 and opens to operator keys, which also do everything a client key
 * does; without ADMIN_API_KEYS every client key sees them (one team); with ADMIN_API_KEYS but no
 * API_KEYS the jobs API is open while the operator's pages still want an operator key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionTokenFor } from '../../src/plugins/auth.ts';
import { type ListeningTestApi, startListeningTestApi } from '../harness.ts';

const CLIENT = 'client-key-0001';
const OPERATOR = 'operator-key-001';

/** Routes only an operator may use when ADMIN_API_KEYS is set. */
const OPERATOR_ROUTES: Array<{ method: string; path: string }> = [
  { method: 'GET', path: '/dashboard/api/snapshot' },
  { method: 'GET', path: '/dashboard/api/series' },
  { method: 'GET', path: '/dashboard/api/stream' },
  { method: 'POST', path: '/dashboard/api/session' },
  { method: 'GET', path: '/admin/queues' },
  { method: 'GET', path: '/admin/queues/api/queues' },
  { method: 'GET', path: '/metrics' },
  { method: 'GET', path: '/v1/config' },
];

async function request(api: ListeningTestApi, method: string, path: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const res = await fetch(`${api.url}${path}`, { method, headers, signal: controller.signal });
  // The stream never ends by itself: its status and headers are all this needs.
  const body = res.headers.get('content-type')?.includes('text/event-stream') ? '' : await res.text();
  controller.abort();
  return { status: res.status, body, setCookie: res.headers.get('set-cookie') };
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const jobBody = JSON.stringify({ model: 'mock/echo', messages: [{ role: 'user', content: 'hi' }] });

describe('with API_KEYS and ADMIN_API_KEYS', () => {
  let api: ListeningTestApi;
  beforeAll(async () => {
    api = await startListeningTestApi({ API_KEYS: CLIENT, ADMIN_API_KEYS: OPERATOR });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('refuses a client key with a 403 that names the fix, and no key with a 401', async () => {
    for (const { method, path } of OPERATOR_ROUTES) {
      const refused = await request(api, method, path, bearer(CLIENT));
      expect(refused.status, `${method} ${path}`).toBe(403);
      expect(JSON.parse(refused.body).error, `${method} ${path}`).toMatchObject({
        type: 'permission_error',
        code: 'operator_key_required',
      });
      expect(refused.body).toContain('ADMIN_API_KEYS');
      expect(refused.setCookie, `${method} ${path}`).toBeNull();
      expect((await request(api, method, path)).status, `${method} ${path}`).toBe(401);
    }
  });

  it('opens every one of them to an operator key', async () => {
    for (const { method, path } of OPERATOR_ROUTES) {
      const allowed = await request(api, method, path, bearer(OPERATOR));
      expect(allowed.status, `${method} ${path}`).toBe(path === '/dashboard/api/session' ? 204 : 200);
    }
    const queues = JSON.parse((await request(api, 'GET', '/admin/queues/api/queues', bearer(OPERATOR))).body);
    expect(queues.queues.map((q: { name: string }) => q.name)).toContain('llm-jobs');
  });

  it("gives bull-board's session cookie to an operator key only, and refuses one made from a client key", async () => {
    const session = await request(api, 'POST', '/dashboard/api/session', bearer(OPERATOR));
    const cookie = String(session.setCookie).split(';')[0] as string;
    expect(cookie).toBe(`sy_session=${sessionTokenFor(OPERATOR)}`);
    expect((await request(api, 'GET', '/admin/queues', { cookie })).status).toBe(200);
    // A client key's token, the way the cookie would be made if a client key could get one.
    const forged = await request(api, 'GET', '/admin/queues', { cookie: `sy_session=${sessionTokenFor(CLIENT)}` });
    expect(forged.status).toBe(401);
  });

  it('lets an operator key do what a client key does, and client keys still do it', async () => {
    for (const key of [CLIENT, OPERATOR]) {
      const res = await fetch(`${api.url}/v1/jobs`, {
        method: 'POST',
        headers: { ...bearer(key), 'content-type': 'application/json' },
        body: jobBody,
      });
      expect(res.status).toBe(202);
      expect((await request(api, 'GET', '/v1/workers', bearer(key))).status).toBe(200);
      expect((await request(api, 'GET', '/v1/providers/status', bearer(key))).status).toBe(200);
    }
  });
});

describe('with API_KEYS only (one team)', () => {
  let api: ListeningTestApi;
  beforeAll(async () => {
    api = await startListeningTestApi({ API_KEYS: CLIENT });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('opens the dashboard, bull-board and /metrics to every client key', async () => {
    for (const { method, path } of OPERATOR_ROUTES) {
      const allowed = await request(api, method, path, bearer(CLIENT));
      expect(allowed.status, `${method} ${path}`).toBe(path === '/dashboard/api/session' ? 204 : 200);
      expect((await request(api, method, path)).status, `${method} ${path}`).toBe(401);
    }
  });
});

describe('with ADMIN_API_KEYS only', () => {
  let api: ListeningTestApi;
  beforeAll(async () => {
    api = await startListeningTestApi({ ADMIN_API_KEYS: OPERATOR });
  });
  afterAll(async () => {
    await api?.close();
  });

  it("keeps the jobs API open and the operator's pages closed to anyone without the operator key", async () => {
    const res = await fetch(`${api.url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: jobBody });
    expect(res.status).toBe(202);
    for (const { method, path } of OPERATOR_ROUTES) {
      expect((await request(api, method, path)).status, `${method} ${path}`).toBe(401);
      expect((await request(api, method, path, bearer('not-an-operator-key'))).status, `${method} ${path}`).toBe(401);
      const allowed = await request(api, method, path, bearer(OPERATOR));
      expect(allowed.status, `${method} ${path}`).toBe(path === '/dashboard/api/session' ? 204 : 200);
    }
    const session = await request(api, 'POST', '/dashboard/api/session', bearer(OPERATOR));
    const cookie = String(session.setCookie).split(';')[0] as string;
    expect((await request(api, 'GET', '/admin/queues', { cookie })).status).toBe(200);
    expect((await request(api, 'GET', '/dashboard')).body).toContain('content="required"');
  });

  it("has one anonymous client, whatever Bearer it sends; the operator's own jobs are the operator's", async () => {
    const post = async (headers: Record<string, string>) => {
      const res = await fetch(`${api.url}/v1/jobs`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: jobBody,
      });
      return ((await res.json()) as { id: string }).id;
    };
    const anonymous = await post({});
    for (const headers of [{}, bearer('any-key-at-all-1'), bearer(OPERATOR)]) {
      expect((await request(api, 'GET', `/v1/jobs/${anonymous}`, headers)).status).toBe(200);
    }
    const operators = await post(bearer(OPERATOR));
    expect((await request(api, 'GET', `/v1/jobs/${operators}`, bearer(OPERATOR))).status).toBe(200);
    expect((await request(api, 'GET', `/v1/jobs/${operators}`)).status).toBe(404);
  });
});
