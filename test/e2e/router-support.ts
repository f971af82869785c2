/**
 * The rig of the router and fleet integration tests: the fault-injecting mock server in this
 * process, the real API and N real worker processes pointed at it (every vendor through its own
 * path prefix, with throw-away keys), a state store of the test's own on the same namespace
 * (circuits, provider states, cooldowns), the queue, the job events workers publish, and the
 * timelines of router-timeline.ts. Plus the small helpers the scenarios share.
 */
import { randomBytes } from 'node:crypto';
import { type MockServer, startMockServer } from '@switchyard/providers/mock-server';
import {
  createLogger,
  type JobEvent,
  type JobView,
  jobEventsChannel,
  type ProviderName,
  QUEUE_NAME,
  type QueuedJobData,
  queuePrefix,
} from '@switchyard/shared';
import { deleteNamespace, testNamespace, testRedisUrl, waitFor } from '@switchyard/shared/testing';
import { createStateStore, type StateStore } from '@switchyard/state';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { type Fleet, postJson, startFleet } from '../support/processes.ts';
import { loopDelays, recordOwnLoopDelay, stalledMs } from '../support/stalls.ts';
import { type LogEvent, logEvents, MockTimeline } from './router-timeline.ts';

export type { Fleet, ServiceProcess } from '../support/processes.ts';
export type { LogEvent, MockEvent } from './router-timeline.ts';
export { MockTimeline } from './router-timeline.ts';

export const PROVIDERS: ProviderName[] = ['openai', 'anthropic', 'gemini'];

/** Keys of the right shapes, fresh per run, so a scan of the logs for them means something. */
export function testKeys(): Record<string, string> {
  const hex = (n: number) => randomBytes(n).toString('hex');
  return {
    OPENAI_API_KEY: `sk-test-${hex(20)}`,
    ANTHROPIC_API_KEY: `sk-ant-test-${hex(20)}`,
    GEMINI_API_KEY: `AIza${hex(18).slice(0, 35)}`,
  };
}

/** A job event as published on Redis for the API (SSE, the OpenAI facade), and when it arrived here. */
export interface PublishedEvent {
  at: number;
  jobId: string;
  event: JobEvent;
}

export interface RigOptions {
  label: string;
  workers: number;
  env?: Record<string, string>;
}

export interface Rig {
  namespace: string;
  mock: MockServer;
  timeline: MockTimeline;
  fleet: Fleet;
  keys: Record<string, string>;
  redis: Redis;
  state: StateStore;
  queue: Queue<QueuedJobData>;
  /** Every per-job event the workers published (state changes, tokens), in arrival order. */
  jobEvents: PublishedEvent[];
  submit(body: Record<string, unknown>): Promise<string>;
  submitBatch(jobs: Array<Record<string, unknown>>): Promise<string[]>;
  waitView(id: string, ms?: number): Promise<JobView>;
  /** Fault rules cleared, every circuit closed, cooldowns and state records gone: a clean slate. */
  resetProviders(): Promise<void>;
  logs(msg?: string): LogEvent[];
  /**
   * How long the machine held up the API, the workers or this process (the mock providers)
   * between `from` and `to` (epoch ms): what a wall-clock bound must allow on top of the design's
   * (see test/support/stalls.ts).
   */
  stalledMs(from: number, to: number): number;
  close(): Promise<void>;
}

export async function startRig(options: RigOptions): Promise<Rig> {
  const namespace = testNamespace(options.label);
  const own = recordOwnLoopDelay();
  const mock = await startMockServer();
  const timeline = new MockTimeline(mock);
  const keys = testKeys();
  const urls = mock.env();
  const fleet = await startFleet({
    namespace,
    workers: options.workers,
    env: {
      ...keys,
      OPENAI_BASE_URL: urls.OPENAI_BASE_URL as string,
      ANTHROPIC_BASE_URL: urls.ANTHROPIC_BASE_URL as string,
      GEMINI_BASE_URL: urls.GEMINI_BASE_URL as string,
      RATE_LIMIT_RPM: '0',
      ...options.env,
    },
  }).catch(async (err: unknown) => {
    timeline.stop();
    own.stop();
    await mock.close();
    throw err;
  });
  const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: 2 });
  const env = fleet.env;
  const state = createStateStore(
    redis,
    {
      SWITCHYARD_NAMESPACE: namespace,
      CIRCUIT_FAILURE_THRESHOLD: Number(env.CIRCUIT_FAILURE_THRESHOLD ?? 5),
      CIRCUIT_RESET_MS: Number(env.CIRCUIT_RESET_MS ?? 120_000),
      CIRCUIT_PROBE_LEASE_MS: Number(env.CIRCUIT_PROBE_LEASE_MS ?? 30_000),
      CIRCUIT_FAILURE_RATE: 0,
      CIRCUIT_WINDOW_MS: 60_000,
      CIRCUIT_MIN_CALLS: 20,
      STATUS_FRESH_MS: 60_000,
      STATUS_STALE_MS: 300_000,
      PROBE_TIMEOUT_MS: 1_000,
      providers: PROVIDERS.map((name) => ({ name })),
    },
    createLogger({ name: 'router-test', level: 'silent' }),
  );
  const queue = new Queue<QueuedJobData>(QUEUE_NAME, { connection: redis, prefix: queuePrefix(namespace), skipVersionCheck: true });
  const jobEvents: PublishedEvent[] = [];
  const subscriber = new Redis(testRedisUrl());
  const channelPrefix = jobEventsChannel(namespace, '');
  subscriber.on('pmessage', (_pattern: string, channel: string, message: string) => {
    jobEvents.push({ at: Date.now(), jobId: channel.slice(channelPrefix.length), event: JSON.parse(message) as JobEvent });
  });
  await subscriber.psubscribe(`${channelPrefix}*`);

  const rig: Rig = {
    namespace,
    mock,
    timeline,
    fleet,
    keys,
    redis,
    state,
    queue,
    jobEvents,
    async submit(body) {
      const res = await postJson(`${fleet.apiUrl}/v1/jobs`, body);
      if (res.status !== 202) throw new Error(`submit: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.id as string;
    },
    async submitBatch(jobs) {
      const res = await postJson(`${fleet.apiUrl}/v1/jobs/batch`, { jobs });
      if (res.status !== 202) throw new Error(`batch: ${res.status} ${JSON.stringify(res.body)}`);
      const body = res.body as { ids?: string[]; jobs?: Array<{ id: string }> };
      return body.ids ?? (body.jobs ?? []).map((j) => j.id);
    },
    async waitView(id, ms = 10_000) {
      const res = await fetch(`${fleet.apiUrl}/v1/jobs/${id}?wait_ms=${ms}`);
      return (await res.json()) as JobView;
    },
    async resetProviders() {
      mock.clearFaults();
      const now = Date.now();
      for (const provider of PROVIDERS) {
        await state.breaker.reset(provider, now);
        const k = state.keys.provider(provider);
        await redis.del(k.cooldown, k.state);
      }
    },
    logs: (msg) => logEvents(fleet.workers, msg),
    stalledMs: (from, to) => stalledMs([...loopDelays([fleet.api, ...fleet.workers]), own.samples], from, to),
    async close() {
      timeline.stop();
      own.stop();
      subscriber.disconnect();
      await fleet.stop().catch(() => {});
      await queue.close().catch(() => {});
      await state.close().catch(() => {});
      redis.disconnect();
      await mock.close();
      await deleteNamespace(testRedisUrl(), namespace);
    },
  };
  return rig;
}

/** The tokens a job streamed through Redis, with when each arrived here. */
export function tokensOf(rig: Rig, jobId: string): Array<{ at: number; delta: string; index: number }> {
  return rig.jobEvents.flatMap((p) => (p.jobId === jobId && p.event.type === 'token' ? [{ at: p.at, ...p.event }] : []));
}

/** When the job's final state event arrived here. */
export function finalEventAt(rig: Rig, jobId: string): number | undefined {
  return rig.jobEvents.find((p) => p.jobId === jobId && p.event.type === 'state' && p.event.status !== 'active')?.at;
}

export const user = (content: string) => [{ role: 'user', content }];
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A few quick jobs on every provider, so first-call costs (TLS-less connect, SDK set-up) are paid before timing starts. */
export async function warmUp(rig: Rig, jobs = 12): Promise<void> {
  const ids = await Promise.all(
    Array.from({ length: jobs }, (_, i) =>
      rig.submit({ model: `${PROVIDERS[i % PROVIDERS.length]}/warm-up`, messages: [{ role: 'user', content: 'warm up' }] }),
    ),
  );
  const views = await Promise.all(ids.map((id) => rig.waitView(id, 30_000)));
  const bad = views.filter((v) => v.status !== 'completed');
  if (bad.length > 0) throw new Error(`warm-up jobs failed: ${JSON.stringify(bad[0])}`);
}

/** Waits until the mock has received `n` calls for `model` (sampled on the timeline). */
export function callsReceived(rig: Rig, model: string, n: number, timeoutMs = 5_000): Promise<boolean> {
  return waitFor(() => rig.timeline.count(model, 'received') >= n, `${n} call(s) to ${model}`, timeoutMs, 2);
}

/** Every provider key the rig configured, for log scans. */
export function secretsIn(lines: readonly string[], keys: Record<string, string>): string[] {
  const found: string[] = [];
  for (const [name, key] of Object.entries(keys)) {
    if (lines.some((line) => line.includes(key) || line.includes(key.slice(-16)))) found.push(name);
  }
  return found;
}
