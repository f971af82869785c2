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

/** One PING, one connect attempt, a hard deadline; never retries. */
export async function redisAnswers(url: string, deadlineMs = 1000): Promise<boolean> {
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
    const ping = (async () => {
      await client.connect();
      return (await client.ping()) === 'PONG';
    })();
    const deadline = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), deadlineMs);
    });
    return await Promise.race([ping.catch(() => false), deadline]);
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
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

/** Starts a redis-server of our own on a free loopback port; resolves once it answers PING. */
export async function startPrivateRedis(options: {
  dataDir: string;
  port?: number;
  binary?: string;
  appendonly?: boolean;
  extraArgs?: string[];
  deadlineMs?: number;
}): Promise<PrivateRedis> {
  const port = options.port ?? (await freePort());
  mkdirSync(options.dataDir, { recursive: true });
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
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.deadlineMs ?? 5000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    if (await redisAnswers(url, 250)) {
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
  throw new Error(`redis-server did not start on port ${port}: ${stderr.trim().slice(0, 500) || 'no output'}`);
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
