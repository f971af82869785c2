/**
 * The rig of the router's integration tests: the fault-injecting mock server in this process,
 * the real API and N real worker processes pointed at it (every vendor through its own path
 * prefix, with throw-away keys), a state store of the test's own on the same namespace (circuits,
 * provider states, cooldowns), the queue, and two timelines the system records itself: the mock
 * server's per-model call counters sampled every millisecond, and the workers' JSON log events.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { type CallCounters, type MockServer, startMockServer } from '@switchyard/providers/mock-server';
import { createLogger, type JobView, type ProviderName, QUEUE_NAME, type QueuedJobData, queuePrefix } from '@switchyard/shared';
import { deleteNamespace, freePort, testNamespace, testRedisUrl, waitFor } from '@switchyard/shared/testing';
import { createStateStore, type StateStore } from '@switchyard/state';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { postJson, REPO_ROOT } from '../support/processes.ts';

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

/** A child process of the rig, with its output lines and its exit. */
export interface ServiceProcess {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
  /** When it exited (epoch ms), once it has. */
  exitedAt?: number;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Every child any rig of this test process started: killed if the test process itself goes. */
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

function launch(script: string, env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(REPO_ROOT, script)], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const lines: string[] = [];
  let partial = '';
  const collect = (chunk: Buffer) => {
    const text = partial + chunk.toString();
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts.filter(Boolean));
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const service: ServiceProcess = {
    child,
    lines,
    exited: new Promise((done) =>
      child.once('exit', (code) => {
        service.exitedAt = Date.now();
        children.delete(child);
        if (partial) lines.push(partial);
        done(code);
      }),
    ),
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return service.exited;
    },
  };
  return service;
}

/** Start-up of a tsx process takes seconds, and many on a machine shared with other test runs. */
const START_TIMEOUT_MS = 45_000;

export interface Fleet {
  apiUrl: string;
  api: ServiceProcess;
  workers: ServiceProcess[];
  env: Record<string, string>;
  startWorker(extraEnv?: Record<string, string>): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

async function startFleet(namespace: string, workers: number, extraEnv: Record<string, string>): Promise<Fleet> {
  const port = await freePort();
  const env: Record<string, string> = {
    REDIS_URL: testRedisUrl(),
    SWITCHYARD_NAMESPACE: namespace,
    API_PORT: String(port),
    API_HOST: '127.0.0.1',
    ...extraEnv,
  };
  const apiUrl = `http://127.0.0.1:${port}`;
  const fleet: Fleet = {
    apiUrl,
    api: launch('apps/api/src/main.ts', env),
    workers: [],
    env,
    async startWorker(more = {}) {
      const worker = launch('apps/worker/src/main.ts', { ...env, ...more });
      fleet.workers.push(worker);
      await waitFor(
        () => worker.lines.some((l) => l.includes('worker ready')) || worker.child.exitCode !== null,
        'worker ready',
        START_TIMEOUT_MS,
        50,
      );
      if (worker.child.exitCode !== null) throw new Error(`worker exited at start:\n${worker.lines.join('\n')}`);
      return worker;
    },
    async stop() {
      await Promise.all([fleet.api.kill('SIGTERM'), ...fleet.workers.map((w) => w.kill('SIGTERM'))]);
    },
  };
  try {
    await Promise.all(Array.from({ length: workers }, () => fleet.startWorker()));
    await waitFor(
      async () => {
        if (fleet.api.child.exitCode !== null) throw new Error(`api exited at start:\n${fleet.api.lines.join('\n')}`);
        return (await fetch(`${apiUrl}/readyz`).catch(() => null))?.ok;
      },
      'api ready',
      START_TIMEOUT_MS,
      100,
    );
  } catch (err) {
    await Promise.all([fleet.api.kill('SIGKILL'), ...fleet.workers.map((w) => w.kill('SIGKILL'))]);
    throw err;
  }
  return fleet;
}

/** One change of a per-model counter on the mock server, as the sampler saw it. */
export interface MockEvent {
  at: number;
  /** `provider/model` */
  model: string;
  kind: 'received' | 'completed' | 'abandoned' | 'dropped';
  n: number;
}

const KINDS = ['received', 'completed', 'abandoned', 'dropped'] as const;

/** Samples the mock server's exact counters every millisecond: when each call arrived and ended. */
export class MockTimeline {
  readonly events: MockEvent[] = [];
  /** Highest in-flight count seen per model. */
  readonly peakInFlight = new Map<string, number>();
  private readonly last = new Map<string, CallCounters>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly mock: MockServer) {
    this.timer = setInterval(() => this.sample(), 1);
  }

  sample(): void {
    const at = Date.now();
    for (const [model, now] of Object.entries(this.mock.stats().byModel)) {
      const before = this.last.get(model);
      for (const kind of KINDS) {
        const n = now[kind] - (before?.[kind] ?? 0);
        if (n > 0) this.events.push({ at, model, kind, n });
      }
      this.peakInFlight.set(model, Math.max(this.peakInFlight.get(model) ?? 0, now.inFlight));
      this.last.set(model, now);
    }
  }

  of(model: string, kind?: MockEvent['kind']): MockEvent[] {
    this.sample();
    return this.events.filter((e) => e.model === model && (kind === undefined || e.kind === kind));
  }

  count(model: string, kind: MockEvent['kind']): number {
    return this.of(model, kind).reduce((sum, e) => sum + e.n, 0);
  }

  counters(model: string): CallCounters | undefined {
    return this.mock.stats().byModel[model];
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** A parsed worker log line: pino JSON, `time` as epoch ms. */
export interface LogEvent {
  msg: string;
  level: number;
  time: number;
  jobId?: string;
  provider?: string;
  worker: number;
  [field: string]: unknown;
}

export function logEvents(workers: readonly ServiceProcess[], msg?: string): LogEvent[] {
  const events: LogEvent[] = [];
  workers.forEach((w, worker) => {
    for (const line of w.lines) {
      if (msg !== undefined && !line.includes(`"msg":"${msg}"`)) continue;
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        events.push({ ...parsed, time: Date.parse(String(parsed.time)), worker } as LogEvent);
      } catch {
        // not a log line (a stack trace of a crash is reported by the tests that care)
      }
    }
  });
  return events;
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
  submit(body: Record<string, unknown>): Promise<string>;
  submitBatch(jobs: Array<Record<string, unknown>>): Promise<string[]>;
  waitView(id: string, ms?: number): Promise<JobView>;
  /** Fault rules cleared, every circuit closed, cooldowns and state records gone: a clean slate. */
  resetProviders(): Promise<void>;
  logs(msg?: string): LogEvent[];
  close(): Promise<void>;
}

export async function startRig(options: RigOptions): Promise<Rig> {
  const namespace = testNamespace(options.label);
  const mock = await startMockServer();
  const timeline = new MockTimeline(mock);
  const keys = testKeys();
  const urls = mock.env();
  const fleet = await startFleet(namespace, options.workers, {
    ...keys,
    OPENAI_BASE_URL: urls.OPENAI_BASE_URL as string,
    ANTHROPIC_BASE_URL: urls.ANTHROPIC_BASE_URL as string,
    GEMINI_BASE_URL: urls.GEMINI_BASE_URL as string,
    RATE_LIMIT_RPM: '0',
    ...options.env,
  }).catch(async (err: unknown) => {
    timeline.stop();
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

  const rig: Rig = {
    namespace,
    mock,
    timeline,
    fleet,
    keys,
    redis,
    state,
    queue,
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
    async close() {
      timeline.stop();
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
