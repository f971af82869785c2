/**
 * Owns the chaos suite's child processes: the real API and worker entry points (node --import tsx,
 * as `pnpm start:api` / `pnpm start:worker` run them), each preloaded with the orphan guard, with
 * their JSON log lines split exactly (a line cut across two pipe chunks is joined again before it
 * is scanned for secrets) and a registry that kills every child still running when the test
 * process exits or is told to stop, whatever state a failed test left behind.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { scanner } from './secrets.ts';

export const REPO_ROOT = resolve(import.meta.dirname, '../../..');
const ORPHAN_GUARD = resolve(import.meta.dirname, 'orphan-guard.ts');
const LOOP_DELAY = resolve(import.meta.dirname, 'loop-delay.ts');
const GC_PROBE = resolve(import.meta.dirname, 'gc-probe.ts');

/** Every configuration variable of the system: none is inherited from the developer's shell. */
const CONFIG_VARIABLES = [
  'REDIS_URL',
  'REDIS_CLUSTER_NODES',
  'SWITCHYARD_NAMESPACE',
  'API_HOST',
  'API_PORT',
  'API_KEYS',
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

export function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(base)) {
    if (CONFIG_VARIABLES.includes(name) || /^(CIRCUIT|STATUS|HEDGE|JOB|RESULT|FAILED|SHUTDOWN|PROBE|ATTEMPT|PROVIDER|REDIS)_/.test(name)) {
      delete base[name];
    }
  }
  return { ...base, LOG_LEVEL: 'info', ...env, CHAOS_PARENT_PID: String(process.pid) };
}

/** Splits a byte stream into lines, holding a partial last line until its end arrives. */
export class LineSplitter {
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

export interface ChaosProcess {
  name: string;
  /** The process's event-loop delay, every half-second. */
  loopDelay: LoopDelay[];
  child: ChildProcess;
  pid: number;
  /** Log lines, when kept (see `keepLines`). */
  lines: string[];
  /** Lines logged at level error (50) or fatal (60). */
  errorLines: string[];
  lineCount: number;
  exited: Promise<Exit>;
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

export function rssOf(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : null;
  } catch {
    return null;
  }
}

export interface LaunchOptions {
  name: string;
  script: string;
  env: Record<string, string>;
  /** Keep every log line in memory (default true); lines are scanned for secrets either way. */
  keepLines?: boolean;
}

export function launch(options: LaunchOptions): ChaosProcess {
  hookExit();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', ORPHAN_GUARD, '--import', LOOP_DELAY, '--import', GC_PROBE, resolve(REPO_ROOT, options.script)],
    {
      cwd: REPO_ROOT,
      env: childEnv(options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  track(child);
  const keep = options.keepLines !== false;
  const lines: string[] = [];
  const errorLines: string[] = [];
  const watchers = new Set<(line: string) => void>();
  let lineCount = 0;
  const loopDelay: LoopDelay[] = [];
  const heapWaiters: Array<(heap: { heapUsed: number; rss: number; external: number }) => void> = [];
  const onLine = (line: string) => {
    scanner.logLine(line, options.name);
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
  const exited = new Promise<Exit>((done) =>
    child.once('close', (code, signal) => {
      out.end();
      err.end();
      done({ code, signal });
    }),
  );
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    name: options.name,
    child,
    pid: child.pid ?? -1,
    loopDelay,
    lines,
    errorLines,
    get lineCount() {
      return lineCount;
    },
    exited,
    alive,
    async kill(signal: NodeJS.Signals = 'SIGTERM', graceMs = 20_000) {
      if (!alive()) return exited;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const exit = await exited;
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
          reject(new Error(`${options.name}: no matching log line within ${timeoutMs} ms; last lines:\n${lines.slice(-10).join('\n')}`));
        }, timeoutMs);
        const watcher = (line: string) => {
          if (!match(line)) return;
          cleanup();
          resolveLine(line);
        };
        const onExit = () => {
          cleanup();
          reject(new Error(`${options.name} exited before a matching log line; last lines:\n${lines.slice(-20).join('\n')}`));
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
}

/** The worst event-loop delay `proc` reported for any half-second that overlaps [from, to] (epoch ms). */
export function worstLoopDelay(proc: ChaosProcess, from: number, to: number): number {
  let worst = 0;
  for (const d of proc.loopDelay) if (d.t >= from && d.t - 500 <= to) worst = Math.max(worst, d.max);
  return worst;
}
