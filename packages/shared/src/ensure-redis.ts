/**
 * Owns "ensuring Redis" as CONTRACT.md defines it: REDIS_URL if set; else 127.0.0.1:6379 if it
 * answers; else a private redis-server (own port, data under .data/redis, appendonly) stopped on
 * exit; else a clear message naming the install command. Every connect has a deadline.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { redactUrl } from './secrets.ts';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export interface EnsuredRedis {
  url: string;
  /** 'env': REDIS_URL; 'default': 127.0.0.1:6379; 'private': a redis-server we started. */
  source: 'env' | 'default' | 'private';
  stop(): Promise<void>;
}

export interface EnsureRedisOptions {
  env?: NodeJS.ProcessEnv;
  dataDir?: string;
  defaultUrl?: string;
  deadlineMs?: number;
  redisServerBinary?: string;
  log?: (line: string) => void;
}

/**
 * One connect attempt and one question, under a hard deadline; never retries. `fallback` is the
 * answer when nothing answers in time or the connection fails.
 */
async function askOnce<T>(url: string, deadlineMs: number, ask: (client: Redis) => Promise<T>, fallback: T): Promise<T> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: deadlineMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => {});
  let timer: NodeJS.Timeout | undefined;
  try {
    const answer = (async () => {
      await client.connect();
      return ask(client);
    })();
    const deadline = new Promise<T>((resolve) => {
      timer = setTimeout(() => resolve(fallback), deadlineMs);
    });
    return await Promise.race([answer.catch(() => fallback), deadline]);
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}

/** One PING, one connect attempt, a hard deadline; never retries. */
export function redisAnswers(url: string, deadlineMs = 1000): Promise<boolean> {
  return askOnce(url, deadlineMs, async (client) => (await client.ping()) === 'PONG', false);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export function hasBinary(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

export interface PrivateRedis {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** The `process_id` of the Redis server answering at `url` (INFO server), or undefined when none answers in time. */
export function redisServerPid(url: string, deadlineMs = 1000): Promise<number | undefined> {
  return askOnce(
    url,
    deadlineMs,
    async (client) => {
      const match = /^process_id:(\d+)/m.exec(await client.info('server'));
      return match ? Number(match[1]) : undefined;
    },
    undefined,
  );
}

export interface PrivateRedisOptions {
  dataDir: string;
  /** A fixed port (a restart on the same one); default: a free one, tried again if lost. */
  port?: number;
  binary?: string;
  appendonly?: boolean;
  extraArgs?: string[];
  deadlineMs?: number;
}

/**
 * Starts a redis-server of our own on a free loopback port; resolves once it answers and the server
 * answering is that process. A free port is only free until someone binds it: another process may
 * take it between freePort() and redis-server's bind, and when that someone is another Redis, a PING
 * alone would pass. So the answer's `process_id` must be our child's, and without a fixed `port` a
 * lost race is tried again on another port.
 */
export async function startPrivateRedis(options: PrivateRedisOptions): Promise<PrivateRedis> {
  mkdirSync(options.dataDir, { recursive: true });
  const tries = options.port === undefined ? 3 : 1;
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < tries; attempt++) {
    const started = await startRedisOnce(options, options.port ?? (await freePort()));
    if ('url' in started) return started;
    lastError = started.error;
  }
  throw lastError as Error;
}

async function startRedisOnce(options: PrivateRedisOptions, port: number): Promise<PrivateRedis | { error: Error }> {
  const child = spawn(
    options.binary ?? 'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      options.dataDir,
      '--appendonly',
      options.appendonly === false ? 'no' : 'yes',
      '--save',
      '',
      '--daemonize',
      'no',
      ...(options.extraArgs ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // redis-server logs to stdout ("Address already in use" among it): its tail explains a failed
  // start. Once started, the pipes are drained unread so a long-running server never blocks on them.
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-2000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const drain = () => {
    for (const stream of [child.stdout, child.stderr]) {
      stream?.off('data', keep);
      stream?.resume();
    }
  };
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.deadlineMs ?? 5000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    const pid = await redisServerPid(url, 250);
    if (pid !== undefined && pid !== child.pid) {
      child.kill('SIGKILL');
      return { error: new Error(`port ${port} is taken by another Redis server (pid ${pid}), not the redis-server started for it`) };
    }
    if (pid !== undefined) {
      drain();
      const stop = () =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGTERM');
        });
      return { url, port, process: child, stop };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  const said = output
    .trim()
    .split('\n')
    .filter((line) => /error|warning|fatal|can't|could not|in use/i.test(line))
    .join(' | ');
  return {
    error: new Error(`redis-server did not start on port ${port}: ${said.slice(-500) || output.trim().slice(-500) || 'no output'}`),
  };
}

export async function ensureRedis(options: EnsureRedisOptions = {}): Promise<EnsuredRedis> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => {});
  const deadlineMs = options.deadlineMs ?? 1500;
  const noop = async () => {};

  const fromEnv = env.REDIS_URL?.trim();
  if (fromEnv) {
    if (await redisAnswers(fromEnv, deadlineMs)) return { url: fromEnv, source: 'env', stop: noop };
    throw new Error(
      `REDIS_URL is set to ${redactUrl(fromEnv)} but nothing answered within ${deadlineMs} ms. Fix: start that Redis, or unset REDIS_URL to use 127.0.0.1:6379 or a private redis-server.`,
    );
  }
  const defaultUrl = options.defaultUrl ?? DEFAULT_REDIS_URL;
  if (await redisAnswers(defaultUrl, deadlineMs)) {
    log(`Using Redis at ${defaultUrl}`);
    return { url: defaultUrl, source: 'default', stop: noop };
  }
  const binary = options.redisServerBinary ?? 'redis-server';
  if (!hasBinary(binary)) {
    throw new Error(
      `No Redis answered at ${defaultUrl} and no redis-server binary is on PATH. Fix: install it (Debian/Ubuntu: sudo apt-get install -y redis-server; macOS: brew install redis) or set REDIS_URL.`,
    );
  }
  const dataDir = options.dataDir ?? '.data/redis';
  log(`No Redis at ${defaultUrl}; starting a private redis-server (data in ${dataDir})`);
  const started = await startPrivateRedis({ dataDir, binary, appendonly: true });
  log(`Private Redis at ${started.url}`);
  return { url: started.url, source: 'private', stop: started.stop };
}
