/**
 * The fleet-wide figures the least-busy and latency strategies read, on a real Redis: what one
 * worker has in flight and how fast a deployment answered it reaches another worker at its next
 * exchange; a worker that stops exchanging drops out; this worker's own part is always current.
 */
import { createLogger } from '@switchyard/shared';
import { deleteNamespace, testNamespace, testRedisUrl } from '@switchyard/shared/testing';
import { RoutingLoad, StateKeys } from '@switchyard/state';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { FleetLoad } from '../../src/routing/fleet-load.ts';

const logger = createLogger({ name: 'fleet-load-test', level: 'silent' });
const clients: Redis[] = [];
let namespace = '';

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.quit().catch(() => c.disconnect())));
  if (namespace) await deleteNamespace(testRedisUrl(), namespace);
});

/** A worker's gates, as the router exposes them: calls in flight per deployment. */
function gates(counts: Record<string, number>) {
  return { inFlight: (d: string) => counts[d] ?? 0, deployments: () => Object.keys(counts) };
}

function worker(id: string, counts: Record<string, number>, clock: () => number = Date.now) {
  const redis = new Redis(testRedisUrl());
  clients.push(redis);
  return new FleetLoad(new RoutingLoad(redis, new StateKeys(namespace), 5_000, clock), id, logger, gates(counts));
}

describe('fleet load', () => {
  it('one worker’s calls in flight and latencies reach another at the next exchange; its own stay current', async () => {
    namespace = testNamespace('fload');
    const aCounts: Record<string, number> = { busy: 5 };
    const a = worker('a', aCounts);
    const b = worker('b', { busy: 1, idle: 0 });
    for (let i = 0; i < 10; i++) a.callEnded('slow', true, 400);
    for (let i = 0; i < 10; i++) a.callEnded('fast', true, 40);
    await a.exchange();
    await b.exchange();
    expect(b.load('busy')?.inFlight).toBe(6);
    expect(b.load('idle')?.inFlight ?? 0).toBe(0);
    expect(b.load('slow')?.latencyMs).toBeCloseTo(400, 0);
    expect(b.load('fast')?.latencyMs).toBeCloseTo(40, 0);
    // Between exchanges a worker's own part is what its gates say now; the others' as last exchanged.
    await a.exchange();
    aCounts.busy = 9;
    expect(a.load('busy')?.inFlight).toBe(9 + 1);
  });

  it('a worker that stops exchanging drops out once its figures are stale', async () => {
    namespace = testNamespace('fload');
    let now = Date.now();
    const dead = worker('dead', { d: 7 }, () => now);
    const live = worker('live', { d: 1 }, () => now);
    await dead.exchange();
    await live.exchange();
    expect(live.load('d')?.inFlight).toBe(8);
    now += 6_000; // past the 5 s staleness
    await live.exchange();
    expect(live.load('d')?.inFlight).toBe(1);
  });
});
