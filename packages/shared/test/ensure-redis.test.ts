import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ensureRedis, freePort, redisAnswers, redisServerPid, startPrivateRedis } from '../src/ensure-redis.ts';

describe('ensureRedis (the logic behind pnpm start and pnpm test)', () => {
  it('starts a private appendonly redis-server when nothing answers, and stops it', async () => {
    const deadPort = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'sy-redis-'));
    const lines: string[] = [];
    const redis = await ensureRedis({ env: {}, defaultUrl: `redis://127.0.0.1:${deadPort}`, dataDir, log: (l) => lines.push(l) });
    try {
      expect(redis.source).toBe('private');
      expect(redis.url).not.toContain(`:${deadPort}`);
      const client = new Redis(redis.url);
      expect(await client.ping()).toBe('PONG');
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await client.config('GET', 'dir')).toEqual(['dir', dataDir]);
      client.disconnect();
      expect(lines.join('\n')).toMatch(/starting a private redis-server/);
    } finally {
      await redis.stop();
    }
    expect(await redisAnswers(redis.url, 300)).toBe(false);
  });

  it('uses 127.0.0.1:6379 (or whatever answers at the default) without starting anything', async () => {
    const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    const redis = await ensureRedis({ env: {}, defaultUrl: url });
    expect(redis.source).toBe('default');
    expect(redis.url).toBe(url);
  });

  it('a REDIS_URL that does not answer fails fast with the fix, never hangs', async () => {
    const deadPort = await freePort();
    const started = Date.now();
    await expect(ensureRedis({ env: { REDIS_URL: `redis://:hunter2secret@127.0.0.1:${deadPort}` }, deadlineMs: 500 })).rejects.toThrow(
      /nothing answered within 500 ms. Fix:/,
    );
    expect(Date.now() - started).toBeLessThan(2000);
    await ensureRedis({ env: { REDIS_URL: `redis://:hunter2secret@127.0.0.1:${deadPort}` }, deadlineMs: 200 }).catch((err: Error) => {
      expect(err.message).not.toContain('hunter2secret');
    });
  });

  it('with no Redis and no redis-server binary, names the install command', async () => {
    const deadPort = await freePort();
    await expect(
      ensureRedis({
        env: {},
        defaultUrl: `redis://127.0.0.1:${deadPort}`,
        redisServerBinary: 'redis-server-not-installed-here',
        deadlineMs: 300,
      }),
    ).rejects.toThrow(/apt-get install -y redis-server/);
  });

  it('a private redis-server is the process answering on its port: a port another Redis holds is refused, not shared', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sy-redis-'));
    const first = await startPrivateRedis({ dataDir: join(dataDir, 'a'), appendonly: false });
    try {
      expect(await redisServerPid(first.url)).toBe(first.process.pid);
      // The race a free port can lose: another Redis took it first. A PING would pass; the pid does not.
      await expect(startPrivateRedis({ dataDir: join(dataDir, 'b'), port: first.port, appendonly: false })).rejects.toThrow(
        `port ${first.port} is taken by another Redis server (pid ${first.process.pid})`,
      );
      const client = new Redis(first.url);
      expect(await client.ping()).toBe('PONG');
      client.disconnect();
    } finally {
      await first.stop();
    }
  });

  it('a port held by something else fails with what redis-server said', async () => {
    const occupant = createServer();
    const port = await new Promise<number>((resolve) =>
      occupant.listen(0, '127.0.0.1', () => resolve((occupant.address() as { port: number }).port)),
    );
    try {
      await expect(startPrivateRedis({ dataDir: mkdtempSync(join(tmpdir(), 'sy-redis-')), port, appendonly: false })).rejects.toThrow(
        new RegExp(`redis-server did not start on port ${port}: .*(in use|bind)`, 'i'),
      );
    } finally {
      occupant.close();
    }
  });
});
