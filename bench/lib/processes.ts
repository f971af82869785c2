/**
 * Child processes for the benchmarks: the real API and worker entry points (the way `pnpm start:api`
 * / `pnpm start:worker` run them: `node --import tsx`, so the pid is the process itself and its CPU
 * time can be read from /proc), and the baselines' own small processes under bench/procs. Each
 * process's output goes to a log file of its own (see logFile).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '@switchyard/shared/testing';
import { envVar } from './env.ts';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');

const TAIL_CHARS = 16_000;

/** Every child still running: killed if the bench process exits without stopping them (a crash, a deadline). */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface Proc {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
  /** The last few kilobytes of stdout + stderr. */
  tail(): string;
  /** Counts the output lines matching `pattern` from now on; the returned function reads the count. */
  countLines(pattern: RegExp): () => number;
  /** Resolves when a line matching `pattern` appears (or rejects on exit / after `timeoutMs`). */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string>;
  /** User + system CPU time so far, in milliseconds (Linux /proc; 0 elsewhere). */
  cpuMs(): number;
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | null>;
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU milliseconds (user + system) of any process on this machine, from /proc/<pid>/stat. */
export function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / ticksPerSecond();
  } catch {
    return 0;
  }
}

/**
 * Node flags for our API and worker processes and the baselines' (bench/procs): BENCH_CPU_PROF_DIR=<dir> makes each of them write a
 * V8 CPU profile there when it exits (open it in Chrome DevTools or speedscope).
 */
function profileFlags(script: string): string[] {
  const dir = envVar('BENCH_CPU_PROF_DIR', '');
  return dir && (script.startsWith('apps/') || script.startsWith('bench/procs/')) ? ['--cpu-prof', `--cpu-prof-dir=${resolve(dir)}`] : [];
}

/**
 * Where the children's output goes: one log file per process in a temp dir of the run (removed at
 * exit unless BENCH_KEEP_LOGS is set). Not pipes to the bench process: stdout is written
 * synchronously to pipes on Linux, so a child logging a line per job would block whenever the bench
 * process, busy generating load, was slow to drain its pipe (measured: it halved our throughput and
 * inverted B7's scaling). A file never blocks its writer, which is what production log shipping
 * (a file or journald) looks like.
 */
let logDir: string | undefined;
function logFile(name: string): string {
  if (!logDir) {
    const dir = mkdtempSync(join(tmpdir(), 'sy-bench-logs-'));
    logDir = dir;
    process.on('exit', () => {
      if (!envVar('BENCH_KEEP_LOGS', '')) rmSync(dir, { recursive: true, force: true });
    });
  }
  return join(logDir, `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.log`);
}

/** Reads `file` from byte `from` to its end (a log file still being written). */
function readFrom(file: string, from: number): { text: string; end: number } {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const size = fstatSync(fd).size;
    if (size <= from) return { text: '', end: from };
    const buffer = Buffer.alloc(size - from);
    const read = readSync(fd, buffer, 0, buffer.length, from);
    return { text: buffer.subarray(0, read).toString('utf8'), end: from + read };
  } catch {
    return { text: '', end: from };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Starts `script` (a .ts file relative to the repo root) with `node --import tsx`, output to its log file. */
export function spawnTs(name: string, script: string, env: Record<string, string>, args: string[] = []): Proc {
  const file = logFile(name);
  const out = openSync(file, 'a');
  const child = spawn(process.execPath, [...profileFlags(script), '--import', 'tsx', resolve(REPO_ROOT, script), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  live.add(child);
  const exited = new Promise<number | null>((done) =>
    child.once('exit', (code) => {
      live.delete(child);
      done(code);
    }),
  );
  const pid = child.pid ?? -1;
  const tail = () => {
    const size = (() => {
      try {
        return statSync(file).size;
      } catch {
        return 0;
      }
    })();
    return readFrom(file, Math.max(0, size - TAIL_CHARS)).text;
  };
  const sizeNow = () => {
    try {
      return statSync(file).size;
    } catch {
      return 0;
    }
  };

  return {
    name,
    pid,
    child,
    exited,
    tail,
    countLines(pattern) {
      const from = sizeNow();
      return () =>
        readFrom(file, from)
          .text.split('\n')
          .filter((line) => pattern.test(line)).length;
    },
    async waitForLine(pattern, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let offset = 0;
      let partial = '';
      for (;;) {
        const chunk = readFrom(file, offset);
        offset = chunk.end;
        const lines = (partial + chunk.text).split('\n');
        partial = lines.pop() ?? '';
        const found = lines.find((line) => pattern.test(line));
        if (found !== undefined) return found;
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`${name} exited (code ${child.exitCode}) before printing ${pattern}. Output:\n${tail().slice(-3000)}`);
        }
        if (Date.now() > deadline)
          throw new Error(`${name}: no line matching ${pattern} within ${timeoutMs} ms. Output:\n${tail().slice(-3000)}`);
        await sleep(50);
      }
    },
    cpuMs: () => cpuMsOf(pid),
    async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/**
 * Starts `count` processes, at most `batch` at a time: start-up is CPU-bound (module loading and
 * TypeScript transforms), and starting many at once on a small machine only makes every one slow.
 */
export async function startInBatches<T>(count: number, start: (i: number) => Promise<T>, batch = 4): Promise<T[]> {
  const started: T[] = [];
  for (let i = 0; i < count; i += batch) {
    started.push(...(await Promise.all(Array.from({ length: Math.min(batch, count - i) }, (_, j) => start(i + j)))));
  }
  return started;
}

/** Stops every process given (in parallel), ignoring ones already gone. */
export async function stopAll(procs: readonly Proc[]): Promise<void> {
  await Promise.all(procs.map((p) => p.stop().catch(() => null)));
}

/** Environment every Switchyard process of a bench run gets: quiet rate limits, a namespace of its own. */
export function baseEnv(redisUrl: string, namespace: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL: redisUrl,
    SWITCHYARD_NAMESPACE: namespace,
    RATE_LIMIT_RPM: '0',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

/** One worker replica (apps/worker/src/main.ts), resolved once it logs "worker ready". */
export async function startWorker(name: string, env: Record<string, string>, timeoutMs = 120_000): Promise<Proc> {
  const proc = spawnTs(name, 'apps/worker/src/main.ts', env);
  try {
    await proc.waitForLine(/worker ready/, timeoutMs);
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
  return proc;
}

export interface ApiProc extends Proc {
  url: string;
  port: number;
}

/**
 * One API replica (apps/api/src/main.ts) on a free loopback port, resolved once /readyz answers 200.
 * At LOG_LEVEL info or finer the API binds a port of its own choosing and logs it: a port picked
 * here would stay free for the seconds the child takes to start, and any process on the machine
 * could take it meanwhile. Below info there is no such line, so then a free port is picked here.
 */
export async function startApi(name: string, env: Record<string, string>, timeoutMs = 120_000): Promise<ApiProc> {
  const logsItsAddress = ['info', 'debug', 'trace'].includes(env.LOG_LEVEL ?? 'info');
  let port = logsItsAddress ? 0 : await freePort();
  const proc = spawnTs(name, 'apps/api/src/main.ts', { ...env, API_HOST: '127.0.0.1', API_PORT: String(port) });
  try {
    if (logsItsAddress) {
      const line = await proc.waitForLine(/"switchyard api listening"/, timeoutMs);
      const address = (JSON.parse(line) as { address?: unknown }).address;
      const match = typeof address === 'string' ? /^http:\/\/127\.0\.0\.1:(\d+)$/.exec(address) : null;
      if (!match) throw new Error(`${name} logged no usable address: ${line}`);
      port = Number(match[1]);
    }
    await waitForHttp(`http://127.0.0.1:${port}/readyz`, proc, timeoutMs);
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
  return Object.assign(proc, { url: `http://127.0.0.1:${port}`, port });
}

/** A bench/procs script that prints one line `{"ready":...}` when it is ready. */
export async function startBenchProc(name: string, script: string, env: Record<string, string>, timeoutMs = 120_000): Promise<Proc> {
  const proc = spawnTs(name, script, env);
  try {
    await proc.waitForLine(/"ready":true/, timeoutMs);
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
  return proc;
}

/** Polls `url` until it answers 2xx; rejects if `proc` exits first or the deadline passes. */
export async function waitForHttp(url: string, proc: Proc, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited (code ${proc.child.exitCode}):\n${proc.tail().slice(-3000)}`);
    const ok = await fetch(url, { signal: AbortSignal.timeout(1000) })
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`${proc.name}: ${url} did not answer within ${timeoutMs} ms:\n${proc.tail().slice(-3000)}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** CPU milliseconds each process spent while `work` ran. */
export async function measureCpu<T>(
  procs: readonly { name: string; pid: number }[],
  work: () => Promise<T>,
): Promise<{ value: T; cpuMs: Record<string, number> }> {
  const before = procs.map((p) => cpuMsOf(p.pid));
  const value = await work();
  const cpuMs: Record<string, number> = {};
  procs.forEach((p, i) => {
    cpuMs[p.name] = (cpuMs[p.name] ?? 0) + Math.max(0, cpuMsOf(p.pid) - before[i]!);
  });
  return { value, cpuMs };
}
