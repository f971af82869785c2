/**
 * Starts the real API and worker entry points as child processes (node --import tsx), the way
 * `pnpm start:api` / `pnpm start:worker` do, in a namespace of the test's own, and collects their
 * JSON log lines for assertions.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { freePort, testRedisUrl, waitFor } from '@switchyard/shared/testing';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');

export interface ServiceProcess {
  child: ChildProcess;
  lines: string[];
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

const running = new Set<ChildProcess>();
// If the test process itself goes away, take its fleet with it.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function launch(script: string, env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(REPO_ROOT, script)], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const collect = (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean));
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  running.add(child);
  const exited = new Promise<number | null>((done) =>
    child.once('exit', (code) => {
      running.delete(child);
      done(code);
    }),
  );
  return {
    child,
    lines,
    exited,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export interface Fleet {
  apiUrl: string;
  api: ServiceProcess;
  workers: ServiceProcess[];
  env: Record<string, string>;
  startWorker(extraEnv?: Record<string, string>): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

/** Starts one API and `workers` worker processes sharing `env` (plus REDIS_URL and a port). */
export async function startFleet(options: { namespace: string; workers: number; env?: Record<string, string> }): Promise<Fleet> {
  const port = await freePort();
  const env: Record<string, string> = {
    REDIS_URL: testRedisUrl(),
    SWITCHYARD_NAMESPACE: options.namespace,
    API_PORT: String(port),
    API_HOST: '127.0.0.1',
    ...options.env,
  };
  const apiUrl = `http://127.0.0.1:${port}`;
  const api = launch('apps/api/src/main.ts', env);
  const workers: ServiceProcess[] = [];
  const startWorker = async (extraEnv: Record<string, string> = {}) => {
    const worker = launch('apps/worker/src/main.ts', { ...env, ...extraEnv });
    workers.push(worker);
    await waitFor(() => worker.lines.some((l) => l.includes('worker ready')) || worker.child.exitCode !== null, 'worker ready', 60_000);
    if (worker.child.exitCode !== null) throw new Error(`worker exited at start:\n${worker.lines.join('\n')}`);
    return worker;
  };
  const stopAll = () => Promise.all([api.kill('SIGKILL'), ...workers.map((w) => w.kill('SIGKILL'))]);
  try {
    await Promise.all(Array.from({ length: options.workers }, () => startWorker()));
    await waitFor(
      async () => {
        if (api.child.exitCode !== null) throw new Error(`api exited at start:\n${api.lines.join('\n')}`);
        const res = await fetch(`${apiUrl}/readyz`).catch(() => null);
        return res?.ok;
      },
      'api ready',
      60_000,
      100,
    );
  } catch (err) {
    // Never leave half a fleet running behind a failed start.
    await stopAll();
    throw err;
  }
  return {
    apiUrl,
    api,
    workers,
    env,
    startWorker,
    async stop() {
      await Promise.all([api.kill('SIGTERM'), ...workers.map((w) => w.kill('SIGTERM'))]);
    },
  };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
