/** bull-board behind API_KEYS: a browser gets in with the session cookie the dashboard obtains with its key. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../harness.ts';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ API_KEYS: 'dash-key-000001' });
});
afterAll(async () => {
  await api?.close();
});

describe('dashboard session for bull-board', () => {
  it('exchanges a valid Bearer key for an HttpOnly cookie that opens /admin only', async () => {
    expect((await api.app.inject({ method: 'GET', url: '/admin/queues' })).statusCode).toBe(401);
    expect((await api.app.inject({ method: 'POST', url: '/dashboard/api/session' })).statusCode).toBe(401);

    const session = await api.app.inject({
      method: 'POST',
      url: '/dashboard/api/session',
      headers: { authorization: 'Bearer dash-key-000001' },
    });
    expect(session.statusCode).toBe(204);
    const setCookie = String(session.headers['set-cookie']);
    expect(setCookie).toMatch(/^sy_session=[0-9a-f]{64}; Path=\/admin; HttpOnly; SameSite=Strict/);
    expect(setCookie).not.toContain('dash-key-000001');
    const cookie = setCookie.split(';')[0] as string;

    const board = await api.app.inject({ method: 'GET', url: '/admin/queues', headers: { cookie } });
    expect(board.statusCode).toBe(200);
    expect(board.body).toContain('<html');

    // The cookie is not a key: the API proper still wants the Bearer header.
    expect((await api.app.inject({ method: 'GET', url: '/v1/workers', headers: { cookie } })).statusCode).toBe(401);
    // A forged cookie is refused.
    expect(
      (await api.app.inject({ method: 'GET', url: '/admin/queues', headers: { cookie: `sy_session=${'0'.repeat(64)}` } })).statusCode,
    ).toBe(401);
  });
});
