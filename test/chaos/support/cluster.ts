/**
 * Owns one chaos test file's system under test: a private appendonly redis-server of its own
 * (never the shared 127.0.0.1:6379), the real API process and N real worker processes sharing one
 * namespace and environment, with the moves the tests make on them: kill and restart workers,
 * stop and restart Redis on the same port with the same data directory, and a stop that always
 * leaves nothing behind.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startPrivateRedis } from '@switchyard/shared/testing';
import { Redis } from 'ioredis';
import { API_SCRIPT, launch, type ServiceProcess, track, WORKER_SCRIPT, waitForApi, waitForWorker } from '../../support/processes.ts';
import { CLIENT_KEYS, scanner } from './secrets.ts';

export type PrivateRedis = Awaited<ReturnType<typeof startPrivateRedis>>;

/** A chaos machine is loaded on purpose: start-up gets more time than elsewhere. */
const START_TIMEOUT_MS = 90_000;

export interface ClusterOptions {
  /** Short label: process names, temp dirs, the namespace. */
  name: string;
  workers: number;
  /** Environment shared by the API and the workers (on top of Redis, namespace, port, API_KEYS). */
  env?: Record<string, string>;
  /** Extra environment of the API only. */
  apiEnv?: Record<string, string>;
  /** Start the API process (default true). */
  api?: boolean;
  /** Keep log lines in memory (default true). */
  keepLines?: boolean;
  /** Extra redis-server arguments. */
  redisArgs?: string[];
}

export class ChaosCluster {
  readonly namespace: string;
  readonly dataDir: string;
  redis!: PrivateRedis;
  api: ServiceProcess | undefined;
  apiUrl = '';
  /** Workers currently running (killed ones leave this list). */
  readonly workers: ServiceProcess[] = [];
  /** Every process ever started, for log checks. */
  readonly history: ServiceProcess[] = [];
  readonly env: Record<string, string>;
  private workerSeq = 0;
  private readonly ready = new WeakSet<ServiceProcess>();
  private stopped = false;

  private constructor(private readonly options: ClusterOptions) {
    this.namespace = `chaos${options.name.replace(/[^A-Za-z0-9]/g, '').slice(0, 12)}`;
    this.dataDir = mkdtempSync(join(tmpdir(), `sy-chaos-${options.name}-`));
    this.env = {};
  }

  static async start(options: ClusterOptions): Promise<ChaosCluster> {
    const cluster = new ChaosCluster(options);
    try {
      await cluster.startRedis();
      const port = await freePort();
      Object.assign(cluster.env, {
        REDIS_URL: cluster.redis.url,
        SWITCHYARD_NAMESPACE: cluster.namespace,
        API_HOST: '127.0.0.1',
        API_PORT: String(port),
        API_KEYS: CLIENT_KEYS.join(','),
        ...options.env,
      });
      cluster.apiUrl = `http://127.0.0.1:${port}`;
      const starting: Array<Promise<unknown>> = [];
      if (options.api !== false) starting.push(cluster.startApi());
      for (let i = 0; i < options.workers; i++) starting.push(cluster.startWorker());
      await Promise.all(starting);
      return cluster;
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  get redisUrl(): string {
    return this.redis.url;
  }

  private async startRedis(port?: number): Promise<void> {
    this.redis = await startPrivateRedis({
      dataDir: this.dataDir,
      appendonly: true,
      ...(port ? { port } : {}),
      extraArgs: this.options.redisArgs ?? [],
      deadlineMs: 15_000,
    });
    track(this.redis.process);
    watchRedis(this.redis.process.pid);
  }

  async startApi(): Promise<ServiceProcess> {
    const api = this.launch('api', API_SCRIPT, { ...this.env, ...this.options.apiEnv });
    this.api = api;
    await waitForApi(api, this.apiUrl, START_TIMEOUT_MS);
    return api;
  }

  async startWorker(extraEnv: Record<string, string> = {}): Promise<ServiceProcess> {
    this.workerSeq += 1;
    const worker = this.launch(`worker-${this.workerSeq}`, WORKER_SCRIPT, { ...this.env, ...extraEnv });
    this.workers.push(worker);
    await waitForWorker(worker, START_TIMEOUT_MS);
    this.ready.add(worker);
    return worker;
  }

  /** Every line of every process is scanned for the suite's secrets. */
  private launch(name: string, script: string, env: Record<string, string>): ServiceProcess {
    const proc = launch({
      name,
      script,
      env,
      keepLines: this.options.keepLines ?? true,
      onLine: (line) => scanner.logLine(line, name),
    });
    this.history.push(proc);
    return proc;
  }

  /** Workers running and past their start-up. */
  readyWorkers(): ServiceProcess[] {
    return this.workers.filter((w) => this.ready.has(w) && w.alive());
  }

  /** Kills a worker (SIGKILL by default: no drain, no goodbye) and forgets it. */
  async killWorker(worker: ServiceProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const at = this.workers.indexOf(worker);
    if (at >= 0) this.workers.splice(at, 1);
    await worker.kill(signal, 5_000);
  }

  /** A Redis client of the test's own (not one of the system's). */
  client(): Redis {
    const client = new Redis(this.redis.url, { maxRetriesPerRequest: 3, lazyConnect: false });
    client.on('error', () => {});
    return client;
  }

  /** Kills Redis (SIGKILL: a crash, not a shutdown) and waits until it is gone. */
  async crashRedis(): Promise<void> {
    const child = this.redis.process;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolveGone) => child.once('exit', () => resolveGone()));
    child.kill('SIGKILL');
    await gone;
  }

  /** Starts Redis again on the same port with the same appendonly data directory. */
  async restartRedis(): Promise<void> {
    if (this.stopped) throw new Error('the cluster is stopped');
    await this.startRedis(this.redis.port);
  }

  /** True once stop() has begun: nothing of this cluster may be started again. */
  get isStopped(): boolean {
    return this.stopped;
  }

  redisRunning(): boolean {
    const child = this.redis?.process;
    return !!child && child.exitCode === null && child.signalCode === null;
  }

  /** SIGTERM to every process (SIGKILL after a grace), then Redis, then the data directory. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const running = this.history.filter((p) => p.alive());
    await Promise.all(running.map((p) => p.kill('SIGTERM', 15_000)));
    await this.redis?.stop().catch(() => {});
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/**
 * A redis-server cannot load the orphan guard, so a detached shell watches it instead: once this
 * test process is gone (even by SIGKILL, which runs no exit hook) it kills that redis-server, by its
 * id; it leaves as soon as the redis-server is gone by itself.
 */
function watchRedis(pid: number | undefined): void {
  if (!pid) return;
  const script = `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${pid} 2>/dev/null; do sleep 1; done; kill -0 ${pid} 2>/dev/null && kill -9 ${pid}`;
  spawn('sh', ['-c', script], { stdio: 'ignore', detached: true }).unref();
}
