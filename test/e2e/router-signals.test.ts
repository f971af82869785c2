/**
 * How the fleet reacts to what providers and clients tell it, on real processes (the API and two
 * workers, the real Redis, the mock server over HTTP): a 429's retry-after is honoured by every
 * worker, a client's cancel closes the job's provider connections within 100 ms, and streamed
 * tokens reach the API through Redis as they arrive, with hedging over at the first token.
 */
import { jobEventsChannel } from '@switchyard/shared';
import { testRedisUrl } from '@switchyard/shared/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { callsReceived, type Rig, secretsIn, startRig, warmUp } from './router-support.ts';

const HEDGE_DELAY_MS = 300;

let rig: Rig;
let events: Redis;
/** Every job event published on Redis, with when this process received it. */
const published: Array<{ at: number; jobId: string; event: { type: string; delta?: string; index?: number; status?: string } }> = [];

beforeAll(async () => {
  rig = await startRig({
    label: 'rsig',
    workers: 2,
    env: {
      WORKER_CONCURRENCY: '8',
      HEDGE_DELAY_MS: String(HEDGE_DELAY_MS),
      HEDGE_STAGGER_MS: '200',
      HEDGE_BURST: '100',
      LOG_LEVEL: 'debug',
    },
  });
  events = new Redis(testRedisUrl());
  const prefix = jobEventsChannel(rig.namespace, '');
  events.on('pmessage', (_pattern: string, channel: string, message: string) => {
    published.push({ at: Date.now(), jobId: channel.slice(prefix.length), event: JSON.parse(message) });
  });
  await events.psubscribe(`${prefix}*`);
  await warmUp(rig);
}, 100_000);
afterAll(async () => {
  events?.disconnect();
  await rig?.close();
});
beforeEach(async () => {
  await rig.resetProviders();
});

const user = (content: string) => [{ role: 'user', content }];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('429 with retry-after', () => {
  it('retry-after: 2 -> no worker calls that provider for 2 s, then traffic resumes', async () => {
    rig.mock.setFaults([{ provider: 'openai', model: 'rl-429', fault: 'status=429;retry-after=2', count: 1 }]);
    // The 429 first, on a quiet fleet: a call other workers had admitted before they could hear of
    // it would be in flight, not a call made during the cooldown.
    const first = await rig.submit({ model: 'openai/rl-429', fallbacks: ['anthropic/rl-ok'], messages: user('rate first') });
    expect((await rig.waitView(first)).result?.provider).toBe('anthropic');
    // Then a steady stream of jobs across both workers, until well after the cooldown.
    const ids: Promise<string>[] = [];
    const answered429 = rig.timeline.of('openai/rl-429', 'completed')[0]?.at ?? 0;
    while (Date.now() < answered429 + 3000) {
      ids.push(rig.submit({ model: 'openai/rl-429', fallbacks: ['anthropic/rl-ok'], messages: user(`rate ${ids.length}`) }));
      await sleep(40);
    }
    const views = await Promise.all((await Promise.all(ids)).map((id) => rig.waitView(id)));
    expect(views.filter((v) => v.status !== 'completed')).toEqual([]);

    const after = rig.timeline.of('openai/rl-429', 'received').filter((e) => e.at > answered429);
    const silence = (after[0]?.at ?? Number.POSITIVE_INFINITY) - answered429;
    // Meanwhile the jobs went to the fallback at once.
    const fallbackDuring = rig.timeline.of('anthropic/rl-ok', 'received').filter((e) => e.at > answered429 && e.at < answered429 + 1950);
    const during = fallbackDuring.reduce((n, e) => n + e.n, 0);
    console.log('429: ms without a call to the provider after its 429', silence, '; jobs sent to the fallback meanwhile', during);
    expect(silence).toBeGreaterThanOrEqual(1950);
    expect(silence).toBeLessThan(3000); // and the fleet comes back once the cooldown ends
    expect(during).toBeGreaterThan(10);
    // Both workers skipped it: the cooldown is fleet-wide, not one process's memory.
    const skippedBy = new Set(
      rig
        .logs('router.skip')
        .filter((e) => e.reason === 'cooldown')
        .map((e) => e.worker),
    );
    expect(skippedBy.size).toBe(2);
    const circuit = await rig.state.breaker.read('openai');
    expect(circuit.consecutive_failures).toBe(0); // a 429 is a cooldown, not a breaker failure
  });
});

describe('cancellation', () => {
  it('DELETE /v1/jobs/:id of an active job closes its provider connections within 100 ms', { retry: 2 }, async () => {
    rig.mock.setFaults([{ provider: '*', model: 'cancel-hang', fault: 'hang' }]);
    const id = await rig.submit({ model: 'openai/cancel-hang', fallbacks: ['anthropic/cancel-hang'], messages: user('cancel me') });
    // The primary, then the hedge: two calls open at the provider.
    await callsReceived(rig, 'openai/cancel-hang', 1);
    await callsReceived(rig, 'anthropic/cancel-hang', 1);
    const cancelledAt = Date.now();
    const res = await fetch(`${rig.fleet.apiUrl}/v1/jobs/${id}`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe('cancelled');
    const closedAt = ['openai/cancel-hang', 'anthropic/cancel-hang'].map(
      (m) => rig.timeline.of(m, 'abandoned').at(-1)?.at ?? Number.POSITIVE_INFINITY,
    );
    const cancelToAbort = Math.max(...closedAt) - cancelledAt;
    console.log(
      'cancel -> provider connections closed (ms)',
      closedAt.map((t) => t - cancelledAt),
    );
    expect(cancelToAbort).toBeLessThanOrEqual(100);
    const view = await rig.waitView(id, 0);
    expect(view.status).toBe('cancelled');
    expect(view.error?.class).toBe('aborted');
    // Not retried: a client's cancel is final.
    expect((await rig.queue.getJob(id))?.attemptsMade).toBe(1);
    expect((await rig.state.breaker.read('openai')).consecutive_failures).toBe(0);
  });
});

describe('streaming', () => {
  it('tokens reach Redis as they arrive, and the first token ends hedging', async () => {
    rig.mock.setFaults([{ provider: 'openai', model: 'stream-slow', fault: 'slow=150;words=8' }]);
    const id = await rig.submit({ model: 'openai/stream-slow', fallbacks: ['anthropic/stream-spare'], messages: user('x'), stream: true });
    const view = await rig.waitView(id);
    expect(view.status).toBe('completed');
    const mine = published.filter((p) => p.jobId === id);
    const tokens = mine.filter((p) => p.event.type === 'token');
    const completedAt = mine.find((p) => p.event.status === 'completed')?.at ?? 0;
    expect(tokens.length).toBeGreaterThanOrEqual(8);
    expect(tokens.map((t) => t.event.index)).toEqual(tokens.map((_, i) => i));
    expect(tokens.map((t) => t.event.delta).join('')).toBe(view.result?.content);
    // Spread over the stream's ~1 s, not delivered in one burst at the end.
    const spread = (tokens.at(-1)?.at ?? 0) - (tokens[0]?.at ?? 0);
    console.log('stream: first token before completion (ms)', completedAt - (tokens[0]?.at ?? 0), 'token spread', spread);
    expect(spread).toBeGreaterThan(700);
    expect(completedAt - (tokens[0]?.at ?? 0)).toBeGreaterThan(700);
    // The stream outlived HEDGE_DELAY_MS, but its first token came first: no hedge.
    expect(rig.timeline.count('anthropic/stream-spare', 'received')).toBe(0);
    expect(view.result?.attempts).toHaveLength(1);
  });

  it('a hedge whose first token comes first wins the stream; the rest are aborted or never start', async () => {
    rig.mock.setFaults([
      { provider: 'openai', model: 'stream-late', fault: 'latency=1500' },
      { provider: 'anthropic', model: 'stream-quick', fault: 'slow=100;words=6' },
    ]);
    const id = await rig.submit({
      model: 'openai/stream-late',
      fallbacks: ['anthropic/stream-quick', 'gemini/stream-third'],
      messages: user('x'),
      stream: true,
    });
    const view = await rig.waitView(id);
    expect(view.status).toBe('completed');
    expect(view.result?.provider).toBe('anthropic');
    const tokens = published.filter((p) => p.jobId === id && p.event.type === 'token');
    expect(tokens.map((t) => t.event.delta).join('')).toBe(view.result?.content);
    await callsReceived(rig, 'openai/stream-late', 1);
    expect(rig.timeline.count('openai/stream-late', 'abandoned')).toBe(1);
    // The third candidate's hedge was due 200 ms after the second started: the commit cancelled it.
    expect(rig.timeline.count('gemini/stream-third', 'received')).toBe(0);
  });
});

describe('logs', () => {
  it('are JSON lines with jobId and provider as fields, and hold no provider key', () => {
    const lines = [...rig.fleet.workers.flatMap((w) => w.lines), ...rig.fleet.api.lines];
    expect(secretsIn(lines, rig.keys)).toEqual([]);
    const events = rig.logs();
    expect(events.length).toBe(rig.fleet.workers.reduce((n, w) => n + w.lines.length, 0)); // every line parsed
    for (const e of events.filter((x) => String(x.msg).startsWith('router.call'))) {
      expect(typeof e.jobId).toBe('string');
      expect(typeof e.provider).toBe('string');
    }
    expect(rig.logs('job completed').every((e) => typeof e.jobId === 'string' && typeof e.provider === 'string')).toBe(true);
  });
});
