/**
 * Cluster compatibility of the key layout. Two checks:
 * 1. every Lua script call of a full scenario is observed, and its keys are mapped to Cluster
 *    slots with an independent CRC16: one slot per call;
 * 2. the same scenario runs against a real Redis in cluster mode (a private single-node cluster
 *    holding all 16384 slots), where Redis itself rejects any command or script spanning two
 *    slots (CROSSSLOT) and ioredis rejects any pipeline that does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasBinary, type ProviderName } from '@switchyard/shared';
import { startPrivateRedis, testNamespace, testRedisUrl, waitFor } from '@switchyard/shared/testing';
import { Cluster, Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createStateStore, type ScriptName, type StateStore } from '../src/index.ts';
import { failure, silentLogger, stateConfig } from './helpers.ts';

/** CRC16-CCITT (XMODEM), as Redis Cluster specifies it. */
function crc16(data: Buffer): number {
  let crc = 0;
  for (const byte of data) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The key's slot: only the part inside the first non-empty `{...}` counts, when there is one. */
function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  return crc16(Buffer.from(key)) % 16384;
}

/** Exercises every script and every reader of the store. */
async function scenario(store: StateStore, provider: ProviderName): Promise<void> {
  expect(await store.admit(provider)).toEqual({ admitted: true });
  await store.report(failure(provider, 'success', { latencyMs: 42 }));
  await store.report(failure(provider, 'rate_limited', { retryAfterMs: 50 }));
  await store.report(failure(provider, 'aborted'));
  for (let i = 0; i < 3; i++) await store.report(failure(provider, 'service_unavailable'));
  expect((await store.breaker.read(provider)).state).toBe('open');
  const probe = await waitFor(
    async () => {
      const a = await store.admit(provider);
      return a.admitted ? a : null;
    },
    'probe lease',
    3_000,
    10,
  );
  await store.report(failure(provider, 'success', { probeLeaseId: probe.probeLeaseId }));
  expect((await store.breaker.read(provider)).state).toBe('closed');
  await store.breaker.reset(provider, Date.now());
  const statuses = await store.getStatus({ forceRefresh: true });
  expect(statuses.find((s) => s.provider === provider)).toMatchObject({ state: 'active', cache_hit: false });
  await store.flush();
  await store.readDailyMetrics(30);
  await store.readMinuteSeries(60);
  const counters = await store.readCounters();
  expect(counters.providers.find((p) => p.provider === provider)!.calls_total).toBe(7);
  await store.heartbeat({ id: 'w1', host: 'h', pid: 1, concurrency: 1, active_jobs: 0, started_at: Date.now() });
  expect((await store.listWorkers()).map((w) => w.id)).toEqual(['w1']);
  await store.close();
}

const config = (namespace: string) =>
  stateConfig(namespace, {
    CIRCUIT_FAILURE_THRESHOLD: 3,
    CIRCUIT_RESET_MS: 100,
    CIRCUIT_FAILURE_RATE: 0.9,
    CIRCUIT_MIN_CALLS: 100,
    STATUS_FRESH_MS: 0,
    STATUS_STALE_MS: 0,
    providers: [{ name: 'openai' }, { name: 'anthropic' }],
  });

const prober = async () => ({ state: 'active' as const, latencyMs: 1 });

describe('key layout is Cluster-compatible', () => {
  it('the CRC16 used here agrees with Redis Cluster', () => {
    expect(crc16(Buffer.from('123456789'))).toBe(0x31c3);
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'));
  });

  it('every script call touches exactly one slot', async () => {
    const namespace = testNamespace('slot');
    const calls: Array<{ name: ScriptName; keys: readonly string[] }> = [];
    const redis = new Redis(testRedisUrl());
    try {
      const store = createStateStore(redis, config(namespace), silentLogger, {
        prober,
        scriptObserver: (name, keys) => calls.push({ name, keys: [...keys] }),
      });
      await scenario(store, 'openai');
      await scenario(store, 'anthropic');
    } finally {
      const { deleteNamespace } = await import('@switchyard/shared/testing');
      await deleteNamespace(testRedisUrl(), namespace);
      redis.disconnect();
    }
    const seen = new Set(calls.map((c) => c.name));
    expect([...seen].sort()).toEqual([
      'admit',
      'circuit-record',
      'circuit-reset',
      'cooldown-extend',
      'lock-release',
      'metrics-extremes',
      'provider-state',
    ]);
    for (const call of calls) {
      const slots = new Set(call.keys.map(keySlot));
      expect(slots.size, `${call.name} touches ${call.keys.join(', ')}`).toBe(1);
      for (const key of call.keys) expect(key.startsWith(`${namespace}:`)).toBe(true);
    }
    // And each provider has a slot of its own (they may collide by chance, but not these two).
    const openai = calls.find((c) => c.keys[0]!.includes('{p:openai}'))!;
    const anthropic = calls.find((c) => c.keys[0]!.includes('{p:anthropic}'))!;
    expect(keySlot(openai.keys[0]!)).not.toBe(keySlot(anthropic.keys[0]!));
  });

  describe.runIf(hasBinary('redis-server'))('on a real Redis in cluster mode', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-cluster-'));
    let stop: (() => Promise<void>) | undefined;
    afterAll(async () => {
      await stop?.();
      rmSync(dir, { recursive: true, force: true });
    });

    it('runs the whole scenario without a CROSSSLOT error', async () => {
      const node = await startPrivateRedis({
        dataDir: dir,
        appendonly: false,
        extraArgs: ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-announce-ip', '127.0.0.1'],
      });
      stop = node.stop;
      const admin = new Redis(node.url);
      await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
      await waitFor(async () => String(await admin.call('CLUSTER', 'INFO')).includes('cluster_state:ok'), 'cluster_state:ok', 10_000, 50);
      // The server itself refuses a multi-key command across slots: the check below has teeth.
      await expect(admin.mget('{a}x', '{b}x')).rejects.toThrow(/CROSSSLOT/);
      admin.disconnect();

      const cluster = new Cluster([{ host: '127.0.0.1', port: node.port }], { redisOptions: { maxRetriesPerRequest: 1 } });
      try {
        await waitFor(() => cluster.status === 'ready', 'cluster client ready', 10_000, 20);
        const store = createStateStore(cluster, config(testNamespace('cl')), silentLogger, { prober });
        const events: string[] = [];
        const sub = store.subscribe((e) => events.push(e.type));
        await sub.ready;
        await scenario(store, 'openai');
        await scenario(store, 'anthropic');
        await waitFor(() => events.includes('circuit'), 'a circuit event over cluster pub/sub', 10_000);
        await sub.close();
      } finally {
        cluster.disconnect();
      }
    });
  });
});
