/**
 * Baseline status endpoint for B4, the way it is usually first written: each process keeps its own
 * in-memory cache per provider (fresh for STATUS_FRESH_MS) and, once an entry is older, probes that
 * provider before answering (single flight inside the process only). With N processes that is N
 * probes per provider per window, and every request arriving during a probe of a dead provider waits
 * for the probe's deadline. Env: PORT, STATUS_FRESH_MS, PROBE_TIMEOUT_MS, PROBES (JSON
 * {provider: url}). Prints {"ready":true} when listening.
 */
import Fastify from 'fastify';
import { envNumber, envVar } from '../lib/env.ts';

const fresh = envNumber('STATUS_FRESH_MS', 1000);
const timeout = envNumber('PROBE_TIMEOUT_MS', 300);
const probes = JSON.parse(envVar('PROBES', '{}')) as Record<string, string>;

interface Entry {
  state: string;
  checkedAt: number;
}
const cache = new Map<string, Entry>();
const inflight = new Map<string, Promise<Entry>>();

async function probe(provider: string, url: string): Promise<Entry> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeout) });
    await res.arrayBuffer().catch(() => {});
    return { state: res.ok ? 'active' : 'service_unavailable', checkedAt: Date.now() };
  } catch (err) {
    return { state: (err as Error).name === 'TimeoutError' ? 'timeout' : 'network_error', checkedAt: Date.now() };
  } finally {
    inflight.delete(provider);
  }
}

async function status(provider: string, url: string): Promise<Entry & { cache_hit: boolean }> {
  const cached = cache.get(provider);
  if (cached && Date.now() - cached.checkedAt < fresh) return { ...cached, cache_hit: true };
  let pending = inflight.get(provider);
  if (!pending) {
    pending = probe(provider, url).then((entry) => {
      cache.set(provider, entry);
      return entry;
    });
    inflight.set(provider, pending);
  }
  return { ...(await pending), cache_hit: false };
}

const app = Fastify({ logger: false });
app.get('/v1/providers/status', async () => {
  const providers = await Promise.all(
    Object.entries(probes).map(async ([provider, url]) => ({ provider, ...(await status(provider, url)) })),
  );
  return { providers, cache_hit: providers.every((p) => p.cache_hit), generated_at: new Date().toISOString() };
});
await app.listen({ host: '127.0.0.1', port: envNumber('PORT') });
process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`);
const stop = async () => {
  await app.close().catch(() => {});
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
