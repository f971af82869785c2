/**
 * Baseline worker for B5: per-process circuit breakers, the bug DESIGN.md section 1 exists to fix.
 * A BullMQ Worker (same concurrency as ours) whose processor calls the provider (the mock server,
 * OpenAI wire format) unless this process's own breaker is open; the breaker counts consecutive
 * failures in a local variable and opens at THRESHOLD, exactly like ours but per process. SIGUSR2
 * closes the local breaker again (a fresh process, without the start-up cost). Env: REDIS_URL,
 * BENCH_PREFIX, BENCH_QUEUE, CONCURRENCY, THRESHOLD, PROVIDER_URL, MODEL.
 */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { envVar as env, envNumber } from '../lib/env.ts';

const threshold = Number(env('THRESHOLD'));
const url = env('PROVIDER_URL');
const model = env('MODEL');

let consecutiveFailures = 0;
let open = false;
process.on('SIGUSR2', () => {
  consecutiveFailures = 0;
  open = false;
});

const connection = new Redis(env('REDIS_URL'), { maxRetriesPerRequest: null });
const worker = new Worker(
  env('BENCH_QUEUE'),
  async (job) => {
    if (open) throw new Error('no_provider_available: circuit open (this process)');
    const messages = (job.data as { request?: { messages?: unknown } }).request?.messages ?? [{ role: 'user', content: 'hi' }];
    let ok = false;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer mock-key' },
        body: JSON.stringify({ model, messages }),
        signal: AbortSignal.timeout(20_000),
      });
      await res.arrayBuffer();
      ok = res.ok;
    } catch {
      ok = false;
    }
    if (ok) {
      consecutiveFailures = 0;
      return { ok: true };
    }
    consecutiveFailures += 1;
    if (consecutiveFailures >= threshold) open = true;
    throw new Error('service_unavailable');
  },
  { connection, prefix: env('BENCH_PREFIX'), concurrency: envNumber('CONCURRENCY', 16), skipVersionCheck: true },
);
worker.on('error', (err) => process.stderr.write(`local-breaker worker error: ${err.message}\n`));
await worker.waitUntilReady();
process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`);

const stop = async () => {
  await worker.close().catch(() => {});
  connection.disconnect();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
