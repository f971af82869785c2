/**
 * The router against the fleet port: open circuits and 429 cooldowns skipped, no_provider_available
 * in milliseconds, the half-open probe lease echoed, and a failing or slow state store never
 * failing or stalling a job (admission fails open, reports are fire-and-forget).
 */
import { describe, expect, it } from 'vitest';
import type { RouterError, SkipEvent } from '../../src/router/index.ts';
import { elapse, FakeAdapter, FakeFleet, makeRouter, REQUEST, rejection, timed, untilSettled, useFakeTime } from './fakes.ts';

useFakeTime();

describe('admission', () => {
  it('skips a candidate whose circuit is open, without calling it', async () => {
    const openai = new FakeAdapter('openai');
    const anthropic = new FakeAdapter('anthropic');
    const fleet = new FakeFleet();
    fleet.open('openai');
    const { router } = makeRouter({ adapters: [openai, anthropic], fleet, config: { HEDGE_DELAY_MS: 1000 } });
    const skips: SkipEvent[] = [];
    router.onSkip((e) => skips.push(e));
    const { ms, value } = await timed(() => router.route({ id: 'a1', candidates: ['openai/a', 'anthropic/b'], request: REQUEST }));
    expect(value?.provider).toBe('anthropic');
    // The fallback's own 10 ms: no call to openai, no wait for the 1 s hedge timer.
    expect(ms).toBe(10);
    expect(openai.calls).toHaveLength(0);
    expect(skips).toEqual([{ jobId: 'a1', deployment: 'openai', provider: 'openai', model: 'a', reason: 'circuit_open' }]);
    // The skipped candidate leaves no attempt; the fallback is this job's primary, not a hedge.
    expect(value?.attempts).toMatchObject([{ provider: 'anthropic', hedge: false }]);
  });

  it('skips a provider cooling down after a 429', async () => {
    const openai = new FakeAdapter('openai');
    const anthropic = new FakeAdapter('anthropic');
    const fleet = new FakeFleet();
    fleet.coolDown('openai', 2000);
    const { router } = makeRouter({ adapters: [openai, anthropic], fleet });
    const result = await untilSettled(router.route({ id: 'a2', candidates: ['openai/a', 'anthropic/b'], request: REQUEST }));
    expect(result.provider).toBe('anthropic');
    expect(openai.calls).toHaveLength(0);
  });

  it('every candidate skipped: no_provider_available within a few ms, never at the end of the budget', async () => {
    const fleet = new FakeFleet();
    fleet.open('openai');
    fleet.coolDown('anthropic', 5000);
    const { router } = makeRouter({ adapters: [new FakeAdapter('openai'), new FakeAdapter('anthropic')], fleet });
    const { ms, error } = await timed(() =>
      router.route({ id: 'a3', candidates: ['openai/a', 'anthropic/b'], request: REQUEST, budgetMs: 30_000 }),
    );
    const err = error as RouterError;
    // At once (no timer ran), not at the end of the 30 s budget.
    expect(ms).toBe(0);
    expect(err.errorClass).toBe('no_provider_available');
    expect(err.reason).toBe('no_provider');
    expect(err.permanent).toBe(false);
    expect(err.message).toContain('openai/a: circuit open');
    expect(err.message).toContain('anthropic/b: cooling down');
    expect(err.attempts).toEqual([]);
    // Known denials are remembered: the next job is refused without asking the fleet again.
    const asked = fleet.admits.length;
    const again = await timed(() => router.route({ id: 'a4', candidates: ['openai/a', 'anthropic/b'], request: REQUEST }));
    expect((again.error as RouterError).errorClass).toBe('no_provider_available');
    expect(fleet.admits.length).toBe(asked);
  });

  it('a dead provider: the circuit opens at the threshold and then no more calls reach it', async () => {
    const openai = new FakeAdapter('openai', { latencyMs: 1, fail: 'network_error' });
    const anthropic = new FakeAdapter('anthropic', { latencyMs: 1 });
    const fleet = new FakeFleet(3);
    const { router } = makeRouter({ adapters: [openai, anthropic], fleet });
    for (let i = 0; i < 10; i++) {
      const result = await untilSettled(router.route({ id: `d${i}`, candidates: ['openai/a', 'anthropic/b'], request: REQUEST }));
      expect(result.provider).toBe('anthropic');
    }
    expect(openai.calls).toHaveLength(3);
    expect(fleet.circuit('openai')).toBe('open');
  });

  it('half-open: the single probe carries its lease, and its success closes the circuit', async () => {
    const openai = new FakeAdapter('openai', { latencyMs: 30 });
    const fleet = new FakeFleet(3, 100);
    fleet.open('openai', 200);
    const { router } = makeRouter({ adapters: [openai, new FakeAdapter('anthropic', { latencyMs: 5 })], fleet });
    const probe = router.route({ id: 'p1', candidates: ['openai/a', 'anthropic/b'], request: REQUEST });
    await elapse(5);
    // While the probe is out, nobody else gets through to openai.
    const other = await untilSettled(router.route({ id: 'p2', candidates: ['openai/a', 'anthropic/b'], request: REQUEST }));
    expect(other.provider).toBe('anthropic');
    expect((await untilSettled(probe)).provider).toBe('openai');
    expect(fleet.reportsFor('openai')).toMatchObject([{ outcome: 'success', probeLeaseId: 'lease-1' }]);
    expect(fleet.circuit('openai')).toBe('closed');
    expect(openai.calls).toHaveLength(1);
  });

  it('a probe that loses the hedge race hands its lease back as aborted (never counted)', async () => {
    const openai = new FakeAdapter('openai', { latencyMs: 2000 });
    const fleet = new FakeFleet(3, 100);
    fleet.open('openai', 200);
    const { router } = makeRouter({
      adapters: [openai, new FakeAdapter('anthropic', { latencyMs: 5 })],
      fleet,
      config: { HEDGE_DELAY_MS: 20 },
    });
    const result = await untilSettled(router.route({ id: 'p3', candidates: ['openai/a', 'anthropic/b'], request: REQUEST }));
    expect(result.provider).toBe('anthropic');
    expect(fleet.reportsFor('openai')).toMatchObject([{ outcome: 'aborted', probeLeaseId: 'lease-1' }]);
    expect(fleet.circuit('openai')).toBe('half_open');
    expect(fleet.consecutiveFailures('openai')).toBe(3);
  });

  it('a candidate whose provider is not enabled is skipped; only such candidates is a permanent model_not_found', async () => {
    const { router } = makeRouter({ adapters: [new FakeAdapter('anthropic')] });
    const ok = await untilSettled(router.route({ id: 'n1', candidates: ['openai/a', 'anthropic/b'], request: REQUEST }));
    expect(ok.provider).toBe('anthropic');
    const err = await rejection(router.route({ id: 'n2', candidates: ['openai/a'], request: REQUEST }));
    expect(err.errorClass).toBe('model_not_found');
    expect(err.permanent).toBe(true);
  });

  it('malformed candidates or none at all: a permanent bad_request', async () => {
    const { router } = makeRouter({ adapters: [new FakeAdapter('openai')] });
    const none = await rejection(router.route({ id: 'm1', candidates: [], request: REQUEST }));
    expect(none).toMatchObject({ errorClass: 'bad_request', reason: 'invalid_job', permanent: true });
    const bad = await rejection(router.route({ id: 'm2', candidates: ['nope/x'], request: REQUEST }));
    expect(bad).toMatchObject({ errorClass: 'bad_request', permanent: true });
  });
});

describe('a failing state store never fails a job', () => {
  it('admission that errors or hangs lets the call go (fail-open, within its deadline)', async () => {
    const fleet = new FakeFleet();
    fleet.admitError = new Error('redis down');
    const openai = new FakeAdapter('openai', { latencyMs: 5 });
    const { router } = makeRouter({ adapters: [openai], fleet, tuning: { admitTimeoutMs: 50 } });
    const failOpen: string[] = [];
    router.onAdmitFailOpen((e) => failOpen.push(e.error));
    expect((await untilSettled(router.route({ id: 's1', candidates: ['openai/a'], request: REQUEST }))).provider).toBe('openai');
    fleet.admitError = undefined;
    fleet.admitDelayMs = 5000;
    const { ms, value } = await timed(() => router.route({ id: 's2', candidates: ['openai/a'], request: REQUEST }));
    expect(value?.provider).toBe('openai');
    // The 50 ms admission deadline, then the call's 5 ms: the 5 s store answer was not waited for.
    expect(ms).toBe(55);
    expect(failOpen).toEqual(['redis down', 'no answer within 50 ms']);
  });

  it('reports that reject or throw are logged and counted, and the job still succeeds', async () => {
    const fleet = new FakeFleet();
    fleet.reportError = new Error('redis down');
    const { router } = makeRouter({ adapters: [new FakeAdapter('openai')], fleet });
    const failed: string[] = [];
    router.onReportFailed((e) => failed.push(e.error));
    expect((await untilSettled(router.route({ id: 's3', candidates: ['openai/a'], request: REQUEST }))).provider).toBe('openai');
    fleet.reportError = undefined;
    fleet.reportThrowsSync = true;
    expect((await untilSettled(router.route({ id: 's4', candidates: ['openai/a'], request: REQUEST }))).provider).toBe('openai');
    expect(await untilSettled(router.drain(100))).toBe(true);
    expect(failed).toEqual(['redis down', 'report exploded synchronously']);
    expect(router.stats().reports.failed).toBe(2);
  });

  it('a report that never settles does not delay the job', async () => {
    const fleet = new FakeFleet();
    fleet.report = () => new Promise<void>(() => {});
    const { router } = makeRouter({ adapters: [new FakeAdapter('openai', { latencyMs: 5 })], fleet });
    const { ms } = await timed(() => router.route({ id: 's5', candidates: ['openai/a'], request: REQUEST }));
    expect(ms).toBe(5);
    expect(router.stats().reports.pending).toBe(1);
    expect(await untilSettled(router.drain(20))).toBe(false);
  });
});
