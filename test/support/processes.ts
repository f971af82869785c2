/**
 * Owns the child processes of the integration, end-to-end and chaos tests: the real API and worker
 * entry points (node --import tsx, as `pnpm start:api` / `pnpm start:worker` run them) in an
 * environment of the test's own (nothing inherited from the developer's shell), their readiness
 * waits, and a fleet of one API and N workers on a namespace of the test's own. Each child's JSON
 * log lines are split exactly (a line cut across two pipe chunks is joined again) and kept for
 * assertions; a registry kills every child still running when the test process exits or is told
 * to stop, whatever state a failed test left behind. Three preloads go into every child:
 * orphan-guard.ts, loop-delay.ts and gc-probe.ts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { freePort, testRedisUrl, waitFor } from '@switchyard/shared/testing';
import { Redis } from 'ioredis';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
const PRELOADS = ['orphan-guard.ts', 'loop-delay.ts', 'gc-probe.ts'].map((file) => resolve(import.meta.dirname, file));

/** Start-up of a tsx process takes seconds, and many on a machine shared with other test runs. */
export const START_TIMEOUT_MS = 60_000;

/** Every configuration variable of the system: none is inherited from the developer's shell. */
const CONFIG_VARIABLES = [
  'REDIS_URL',
  'REDIS_CLUSTER_NODES',
  'SWITCHYARD_NAMESPACE',
  'API_HOST',
  'API_PORT',
  'API_KEYS',
  'ADMIN_API_KEYS',
  'RATE_LIMIT_RPM',
  'BODY_LIMIT_BYTES',
  'WORKER_CONCURRENCY',
  'OPENROUTER_API_KEY',
  'OPENAI_API_KEY',
  'ANTHROPIC_API_KEY',
  'GEMINI_API_KEY',
  'OPENROUTER_BASE_URL',
  'OPENAI_BASE_URL',
  'ANTHROPIC_BASE_URL',
  'GEMINI_BASE_URL',
  'OLLAMA_BASE_URL',
  'MOCK_PROVIDER',
  'MOCK_PROVIDER_URL',
  'DEFAULT_MODEL',
  'LOG_LEVEL',
];

function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(base)) {
    if (CONFIG_VARIABLES.includes(name) || /^(CIRCUIT|STATUS|HEDGE|JOB|RESULT|FAILED|SHUTDOWN|PROBE|ATTEMPT|PROVIDER|REDIS)_/.test(name)) {
      delete base[name];
    }
  }
  return { ...base, LOG_LEVEL: 'info', ...env, TEST_PARENT_PID: String(process.pid) };
}

/** Splits a byte stream into lines, holding a partial last line until its end arrives. */
class LineSplitter {
  private partial = '';
  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer | string): void {
    const text = this.partial + chunk.toString();
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) if (line) this.onLine(line);
  }

  end(): void {
    if (this.partial) this.onLine(this.partial);
    this.partial = '';
  }
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One half-second of a process's event-loop delay (see loop-delay.ts). */
export interface LoopDelay {
  /** Epoch ms at the end of the half-second. */
  t: number;
  max: number;
  p99: number;
}

export interface ServiceProcess {
  name: string;
  /** The environment it was given (on top of what it inherits). */
  env: Record<string, string>;
  child: ChildProcess;
  pid: number;
  /** Log lines, when kept (see `keepLines`); the preloads' lines are not among them. */
  lines: string[];
  /** Lines logged at level error (50) or fatal (60). */
  errorLines: string[];
  lineCount: number;
  /** The process's event-loop delay, every half-second. */
  loopDelay: LoopDelay[];
  /** Resolves once the process has exited and its output is read to the end. */
  exited: Promise<Exit>;
  /** When it exited (epoch ms), once it has. */
  exitedAt?: number;
  alive(): boolean;
  /** Sends `signal` and waits for the exit (SIGKILL after `graceMs` if it is still there). */
  kill(signal?: NodeJS.Signals, graceMs?: number): Promise<Exit>;
  /**
   * Runs a full GC in the process and resolves with its live heap (needs CHAOS_GC_PROBE=1 in its
   * environment; see gc-probe.ts). Null when no answer came within `timeoutMs`.
   */
  liveHeap(timeoutMs?: number): Promise<{ heapUsed: number; rss: number; external: number } | null>;
  /** Resident set size in bytes, from /proc (null once gone). */
  rssBytes(): number | null;
  /** Resolves with the first line that matches, or rejects when the process exits or `timeoutMs` passes. */
  waitForLine(match: (line: string) => boolean, timeoutMs: number): Promise<string>;
}

const live = new Set<ChildProcess>();

function killAllNow(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      killAllNow();
      process.off(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/** Registers a child that is not one of ours (e.g. a redis-server) for the exit-time kill. */
export function track(child: ChildProcess): void {
  hookExit();
  live.add(child);
  child.once('exit', () => live.delete(child));
}

function rssOf(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : null;
  } catch {
    return null;
  }
}

export interface LaunchOptions {
  /** What its errors and lines are named by (default: the script's folder, `api` or `worker`). */
  name?: string;
  /** The entry point, relative to the repository root. */
  script: string;
  env: Record<string, string>;
  /** Keep every log line in memory (default true); `onLine` sees them either way. */
  keepLines?: boolean;
  /** Sees every line the process prints, the preloads' included (e.g. to scan them for secrets). */
  onLine?: (line: string) => void;
}

export const API_SCRIPT = 'apps/api/src/main.ts';
export const WORKER_SCRIPT = 'apps/worker/src/main.ts';

export function launch(options: LaunchOptions): ServiceProcess {
  hookExit();
  const name = options.name ?? options.script.split('/')[1] ?? options.script;
  // tsx goes first: the preloads are TypeScript too.
  const imports = ['tsx', ...PRELOADS].flatMap((module) => ['--import', module]);
  const child = spawn(process.execPath, [...imports, resolve(REPO_ROOT, options.script)], {
    cwd: REPO_ROOT,
    env: childEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  const keep = options.keepLines !== false;
  const lines: string[] = [];
  const errorLines: string[] = [];
  const watchers = new Set<(line: string) => void>();
  let lineCount = 0;
  const loopDelay: LoopDelay[] = [];
  const heapWaiters: Array<(heap: { heapUsed: number; rss: number; external: number }) => void> = [];
  const onLine = (line: string) => {
    options.onLine?.(line);
    if (line.startsWith('{"chaos_heap"')) {
      for (const waiter of heapWaiters.splice(0)) waiter(JSON.parse(line));
      return;
    }
    if (line.startsWith('{"chaos_loop_delay"')) {
      const { t, max, p99 } = JSON.parse(line) as LoopDelay;
      loopDelay.push({ t, max, p99 });
      return;
    }
    lineCount += 1;
    if (keep) lines.push(line);
    if (/"level":(50|60)\b/.test(line) && errorLines.length < 200) errorLines.push(line);
    for (const watcher of watchers) watcher(line);
  };
  const out = new LineSplitter(onLine);
  const err = new LineSplitter(onLine);
  child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const service: ServiceProcess = {
    name,
    env: options.env,
    child,
    pid: child.pid ?? -1,
    lines,
    errorLines,
    get lineCount() {
      return lineCount;
    },
    loopDelay,
    exited: new Promise<Exit>((done) => {
      child.once('exit', () => {
        service.exitedAt = Date.now();
      });
      child.once('close', (code, signal) => {
        out.end();
        err.end();
        done({ code, signal });
      });
    }),
    alive,
    async kill(signal: NodeJS.Signals = 'SIGTERM', graceMs = 20_000) {
      if (!alive()) return service.exited;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const exit = await service.exited;
      clearTimeout(timer);
      return exit;
    },
    rssBytes: () => (alive() && child.pid ? rssOf(child.pid) : null),
    liveHeap(timeoutMs = 10_000) {
      // Without the probe, SIGUSR2 would end the process (its default action).
      if (!alive() || options.env.CHAOS_GC_PROBE !== '1') return Promise.resolve(null);
      return new Promise((resolveHeap) => {
        const timer = setTimeout(() => {
          const at = heapWaiters.indexOf(onHeap);
          if (at >= 0) heapWaiters.splice(at, 1);
          resolveHeap(null);
        }, timeoutMs);
        const onHeap = (heap: { heapUsed: number; rss: number; external: number }) => {
          clearTimeout(timer);
          resolveHeap(heap);
        };
        heapWaiters.push(onHeap);
        child.kill('SIGUSR2');
      });
    },
    waitForLine(match, timeoutMs) {
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise<string>((resolveLine, reject) => {
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${name}: no matching log line within ${timeoutMs} ms; last lines:\n${lines.slice(-10).join('\n')}`));
        }, timeoutMs);
        const watcher = (line: string) => {
          if (!match(line)) return;
          cleanup();
          resolveLine(line);
        };
        const onExit = () => {
          cleanup();
          reject(new Error(`${name} exited before a matching log line; last lines:\n${lines.slice(-20).join('\n')}`));
        };
        const cleanup = () => {
          clearTimeout(timer);
          watchers.delete(watcher);
          child.off('exit', onExit);
        };
        watchers.add(watcher);
        child.once('exit', onExit);
      });
    },
  };
  return service;
}

/** The worst event-loop delay `proc` reported for any half-second that overlaps [from, to] (epoch ms). */
export function worstLoopDelay(proc: ServiceProcess, from: number, to: number): number {
  let worst = 0;
  for (const d of proc.loopDelay) if (d.t >= from && d.t - 500 <= to) worst = Math.max(worst, d.max);
  return worst;
}

async function exitedAtStart(proc: ServiceProcess): Promise<Error> {
  await proc.exited;
  return new Error(`${proc.name} exited at start:\n${proc.lines.slice(-20).join('\n')}`);
}

/** Waits until the API at `apiUrl` answers /readyz; fails at once if `api` exits first. */
export async function waitForApi(api: ServiceProcess, apiUrl: string, timeoutMs = START_TIMEOUT_MS): Promise<void> {
  await waitFor(
    async () => {
      if (!api.alive()) return true;
      return (await fetch(`${apiUrl}/readyz`, { signal: AbortSignal.timeout(1000) }).catch(() => null))?.ok;
    },
    `${api.name} ready`,
    timeoutMs,
    100,
  );
  if (!api.alive()) throw await exitedAtStart(api);
}

/**
 * Waits until `worker` logs "worker ready"; below LOG_LEVEL info there is no such line, so then
 * until its entry (its heartbeat) is in the worker registry. Fails at once if it exits first.
 */
export async function waitForWorker(worker: ServiceProcess, timeoutMs = START_TIMEOUT_MS): Promise<void> {
  if (['info', 'debug', 'trace'].includes(worker.env.LOG_LEVEL ?? 'info')) {
    await worker.waitForLine((line) => line.includes('"worker ready"'), timeoutMs);
    return;
  }
  const client = new Redis(worker.env.REDIS_URL ?? testRedisUrl(), { maxRetriesPerRequest: 3 });
  client.on('error', () => {});
  try {
    await waitFor(
      async () => {
        if (!worker.alive()) return true;
        const registered = await client.zrange(`${worker.env.SWITCHYARD_NAMESPACE}:{workers}:live`, '0', '-1');
        return registered.some((id) => id.includes(`:${worker.pid}:`));
      },
      `${worker.name} in the worker registry`,
      timeoutMs,
      100,
    );
  } finally {
    client.disconnect();
  }
  if (!worker.alive()) throw await exitedAtStart(worker);
}

export interface Fleet {
  apiUrl: string;
  api: ServiceProcess;
  workers: ServiceProcess[];
  env: Record<string, string>;
  startWorker(extraEnv?: Record<string, string>): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

/** The address the API logged it listens on (`switchyard api listening`): start it with API_PORT 0 at LOG_LEVEL info or finer. */
export async function listeningAddress(api: ServiceProcess): Promise<string> {
  const line = await api
    .waitForLine((l) => l.includes('"switchyard api listening"'), START_TIMEOUT_MS)
    .catch(async (err: unknown) => {
      throw api.alive() ? err : await exitedAtStart(api);
    });
  const { address } = JSON.parse(line) as { address?: unknown };
  if (typeof address !== 'string' || !/^http:\/\/127\.0\.0\.1:\d+$/.test(address))
    throw new Error(`${api.name} logged no usable address: ${line}`);
  return address;
}

/** Starts one API and `workers` worker processes sharing `env` (plus REDIS_URL, the namespace and a port). */
export async function startFleet(options: { namespace: string; workers: number; env?: Record<string, string> }): Promise<Fleet> {
  // The API binds a port of its own choosing and logs it: a port picked here would stay free for the
  // seconds the child takes to start, and any process on this shared machine could take it meanwhile.
  // Below LOG_LEVEL info there is no such line, so then a free port is picked here after all.
  const logsItsAddress = ['info', 'debug', 'trace'].includes(options.env?.LOG_LEVEL ?? 'info');
  const port = logsItsAddress ? 0 : await freePort();
  const env: Record<string, string> = {
    REDIS_URL: testRedisUrl(),
    SWITCHYARD_NAMESPACE: options.namespace,
    API_PORT: String(port),
    API_HOST: '127.0.0.1',
    ...options.env,
  };
  let workerSeq = 0;
  const fleet: Fleet = {
    apiUrl: `http://127.0.0.1:${port}`,
    api: launch({ script: API_SCRIPT, env }),
    workers: [],
    env,
    async startWorker(extraEnv = {}) {
      workerSeq += 1;
      const worker = launch({ name: `worker-${workerSeq}`, script: WORKER_SCRIPT, env: { ...env, ...extraEnv } });
      fleet.workers.push(worker);
      await waitForWorker(worker);
      return worker;
    },
    async stop() {
      await Promise.all([fleet.api, ...fleet.workers].map((p) => p.kill('SIGTERM')));
    },
  };
  const apiReady = async () => {
    if (logsItsAddress) fleet.apiUrl = await listeningAddress(fleet.api);
    await waitForApi(fleet.api, fleet.apiUrl);
  };
  try {
    await Promise.all([apiReady(), ...Array.from({ length: options.workers }, () => fleet.startWorker())]);
  } catch (err) {
    // Never leave half a fleet running behind a failed start.
    await Promise.all([fleet.api, ...fleet.workers].map((p) => p.kill('SIGKILL')));
    throw err;
  }
  return fleet;
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
