/**
 * The dashboard's server side on a real Redis: the page and its assets, auth on every data
 * request, the snapshot (providers, queue counts, workers), the chart series, bull-board, and the
 * SSE stream pushing snapshots and circuit events as they happen.
 */
import { clearOfMinuteBoundary } from '@switchyard/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ListeningTestApi, startListeningTestApi } from '../harness.ts';

const KEY = 'dashboard-test-key-1';
const auth = { authorization: `Bearer ${KEY}` };

/** Reads SSE frames from a live response until `until` returns true for one, or the deadline. */
async function readFrames(res: Response, until: (event: string, data: any) => boolean, timeoutMs: number) {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const seen: Array<{ event: string; data: any }> = [];
  const deadline = setTimeout(() => reader.cancel(), timeoutMs);
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return seen;
      buffer += value;
      let end = buffer.indexOf('\n\n');
      while (end !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (!event || data === undefined) continue;
        const parsed = JSON.parse(data);
        seen.push({ event, data: parsed });
        if (until(event, parsed)) return seen;
      }
    }
  } finally {
    clearTimeout(deadline);
    await reader.cancel().catch(() => {});
  }
}

describe('dashboard with API_KEYS set', () => {
  let api: ListeningTestApi;
  beforeAll(async () => {
    api = await startListeningTestApi({ API_KEYS: KEY, CIRCUIT_FAILURE_THRESHOLD: '3' });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('serves the page shell publicly, telling it a key is required, with a strict CSP', async () => {
    const res = await api.app.inject({ url: '/dashboard' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.body).toContain('<meta name="switchyard-auth" content="required" />');
    const again = await api.app.inject({ url: '/dashboard', headers: { 'if-none-match': String(res.headers.etag) } });
    expect(again.statusCode).toBe(304);
  });

  it('serves its modules and uPlot from node_modules, and 404s anything else', async () => {
    for (const url of [
      '/dashboard/assets/js/main.js',
      '/dashboard/assets/dashboard.css',
      '/dashboard/vendor/uPlot.esm.js',
      '/dashboard/vendor/uPlot.min.css',
    ]) {
      const res = await api.app.inject({ url });
      expect(res.statusCode, url).toBe(200);
    }
    expect((await api.app.inject({ url: '/dashboard/vendor/uPlot.esm.js' })).headers['content-type']).toContain('text/javascript');
    expect((await api.app.inject({ url: '/dashboard/assets/nope.js' })).statusCode).toBe(404);
    expect((await api.app.inject({ url: '/dashboard/assets/../index.ts' })).statusCode).toBe(404);
  });

  it('needs the key for every data request and for bull-board', async () => {
    for (const url of ['/dashboard/api/snapshot', '/dashboard/api/series', '/dashboard/api/stream', '/admin/queues']) {
      const res = await api.app.inject({ url });
      expect(res.statusCode, url).toBe(401);
    }
    const wrong = await api.app.inject({ url: '/dashboard/api/snapshot', headers: { authorization: 'Bearer not-the-key-at-all' } });
    expect(wrong.statusCode).toBe(401);
    expect((await api.app.inject({ url: '/dashboard/api/snapshot', headers: auth })).statusCode).toBe(200);
    const board = await api.app.inject({ url: '/admin/queues', headers: auth });
    expect(board.statusCode).toBe(200);
    expect(board.body).toContain('Switchyard');
    const queues = await api.app.inject({ url: '/admin/queues/api/queues', headers: auth });
    expect(queues.statusCode).toBe(200);
    expect(queues.json().queues.map((q: { name: string }) => q.name)).toContain('llm-jobs');
  });

  it('snapshot: providers with circuit, queue counts and live workers', async () => {
    await api.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: { model: 'mock/echo', messages: [{ role: 'user', content: 'hi' }] },
    });
    await api.state.heartbeat({ id: 'w-test-1', host: 'box', pid: 4242, concurrency: 16, active_jobs: 3, started_at: Date.now() - 5_000 });
    const res = await api.app.inject({ url: '/dashboard/api/snapshot', headers: auth });
    const snap = res.json();
    expect(res.headers['cache-control']).toBe('no-store');
    expect(snap.errors).toEqual([]);
    expect(snap.providers.map((p: { provider: string }) => p.provider)).toEqual(['mock']);
    expect(snap.providers[0].circuit.state).toBe('closed');
    expect(snap.queue).toMatchObject({ waiting: 1, active: 0, delayed: 0, completed: 0, failed: 0 });
    expect(snap.workers).toHaveLength(1);
    expect(snap.workers[0]).toMatchObject({ id: 'w-test-1', active_jobs: 3, concurrency: 16 });
    expect(Math.abs(snap.at - Date.now())).toBeLessThan(5_000);
  });

  it('series: per-minute throughput, error classes and latency quantiles for uPlot', async () => {
    // The last point is this minute's: the reports and the read must fall in the same one.
    await clearOfMinuteBoundary(10_000);
    for (let i = 0; i < 4; i++) await api.state.report({ provider: 'mock', model: 'echo', outcome: 'success', latencyMs: 40 + i });
    await api.state.report({ provider: 'mock', model: 'echo', outcome: 'rate_limited', latencyMs: 5, retryAfterMs: 10 });
    await api.state.flush(); // metrics are added up in the process; a worker flushes every 250 ms
    const series = (await api.app.inject({ url: '/dashboard/api/series', headers: auth })).json();
    expect(series.t).toHaveLength(60);
    expect(series.t[1] - series.t[0]).toBe(60);
    const mock = series.providers.find((p: { provider: string }) => p.provider === 'mock');
    expect(mock.success.at(-1)).toBeGreaterThanOrEqual(4);
    expect(mock.failed.at(-1)).toBeGreaterThanOrEqual(1);
    expect(mock.p50.at(-1)).toBeGreaterThan(0);
    expect(mock.p95.at(-1)).toBeGreaterThan(0);
    expect(series.error_classes.rate_limited.at(-1)).toBeGreaterThanOrEqual(1);
  });

  it('stream: a snapshot and the series at once, then the circuit event within moments of the trip', async () => {
    const res = await fetch(`${api.url}/dashboard/api/stream`, { headers: auth });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    let tripped = 0;
    const frames = await readFrames(
      res,
      (event, data) => {
        if (event === 'snapshot' && tripped === 0) {
          tripped = Date.now();
          // Three counted failures: the threshold of this API.
          void (async () => {
            for (let i = 0; i < 3; i++)
              await api.state.report({ provider: 'mock', model: 'echo', outcome: 'service_unavailable', latencyMs: 3 });
          })();
        }
        return event === 'state' && data.type === 'circuit' && data.to === 'open';
      },
      10_000,
    );
    const events = frames.map((f) => f.event);
    expect(events).toContain('snapshot');
    expect(events).toContain('series');
    const circuit = frames.find((f) => f.event === 'state' && f.data.type === 'circuit' && f.data.to === 'open');
    expect(circuit?.data).toMatchObject({ provider: 'mock', from: 'closed', to: 'open' });
    expect(circuit?.data.next_probe_at).toBeGreaterThan(Date.now());
    expect(Date.now() - tripped).toBeLessThan(3_000);
    const snap = (await api.app.inject({ url: '/dashboard/api/snapshot', headers: auth })).json();
    expect(snap.providers[0].circuit.state).toBe('open');
  });

  it('force refresh answers with a fresh snapshot', async () => {
    const res = await api.app.inject({ url: '/dashboard/api/snapshot?force_refresh=true', headers: auth });
    expect(res.statusCode).toBe(200);
    expect(res.json().providers).toHaveLength(1);
    expect((await api.app.inject({ url: '/dashboard/api/snapshot?force_refresh=maybe', headers: auth })).statusCode).toBe(400);
  });

  it('never logs the API key', () => {
    expect(api.logLines.join('\n')).not.toContain(KEY);
  });
});

describe('dashboard without API_KEYS', () => {
  it('tells the page no key is needed and serves data openly', async () => {
    const api = await startListeningTestApi();
    try {
      expect((await api.app.inject({ url: '/dashboard' })).body).toContain('content="open"');
      expect((await api.app.inject({ url: '/dashboard/api/snapshot' })).statusCode).toBe(200);
      // The OpenAPI document still builds, and leaves the dashboard's own routes out.
      const docs = await api.app.inject({ url: '/docs/json' });
      expect(docs.statusCode).toBe(200);
      expect(Object.keys(docs.json().paths).filter((p) => p.startsWith('/dashboard') || p.startsWith('/admin'))).toEqual([]);
    } finally {
      await api.close();
    }
  });
});
