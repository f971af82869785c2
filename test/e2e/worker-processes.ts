/**
 * Starts the real API and worker entry points as child processes (node --import tsx), as
 * `pnpm start:api` / `pnpm start:worker` do, in a namespace of the test's own, and collects their
 * JSON log lines. Like test/support/processes.ts, with what the router and fleet tests need on a
 * loaded machine: longer start-up deadlines, no process left behind when a start fails or the
 * test process dies, and each process's exit time.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { freePort, testRedisUrl, waitFor } from '@switchyard/shared/testing';
import { REPO_ROOT } from '../support/processes.ts';

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

export async function startFleet(namespace: string, workers: number, extraEnv: Record<string, string>): Promise<Fleet> {
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
