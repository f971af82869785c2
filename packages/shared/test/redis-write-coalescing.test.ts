/**
 * Write coalescing (src/redis-write-coalescing.ts) on a real Redis: the commands of one event-loop
 * turn leave as one writev, replies still match their commands, and a reconnected socket is
 * coalesced too.
 */
import type { Socket } from 'node:net';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedis, waitForRedis } from '../src/redis.ts';
import { testRedisUrl, waitFor } from '../src/testing.ts';

const settings = { REDIS_URL: testRedisUrl(), REDIS_CONNECT_TIMEOUT_MS: 2_000 };
const clients: Redis[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.disconnect();
});

async function connect(name: string, coalesceWrites: boolean): Promise<Redis> {
  const client = createRedis(settings, 'request', name, { autoPipelining: false, coalesceWrites }) as Redis;
  clients.push(client);
  await waitForRedis(client, 2_000, settings.REDIS_URL);
  return client;
}

/** Counts the socket's write calls into the kernel from now on: `_write` (one chunk) and `_writev` (several). */
function countWrites(client: Redis): { single: number; vectored: number } {
  type WriteFn = (this: Socket, ...args: unknown[]) => unknown;
  const socket = (client as unknown as { stream: Socket & { _write: WriteFn; _writev: WriteFn } }).stream;
  const counts = { single: 0, vectored: 0 };
  const write = socket._write;
  const writev = socket._writev;
  socket._write = function (this: Socket, ...args: unknown[]) {
    counts.single++;
    return write.apply(this, args);
  };
  socket._writev = function (this: Socket, ...args: unknown[]) {
    counts.vectored++;
    return writev.apply(this, args);
  };
  return counts;
}

/** 100 commands issued in one turn; every reply must be its own command's. */
async function burst(client: Redis, tag: string): Promise<void> {
  const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => client.echo(`${tag}-${i}`)));
  expect(replies).toEqual(Array.from({ length: 100 }, (_, i) => `${tag}-${i}`));
}

describe('redis write coalescing', () => {
  it('sends the commands of one event-loop turn as one write; without it, one write each', async () => {
    const coalesced = await connect('coalesce-on', true);
    const plain = await connect('coalesce-off', false);
    const on = countWrites(coalesced);
    const off = countWrites(plain);
    await burst(coalesced, 'on');
    await burst(plain, 'off');
    expect(on).toEqual({ single: 0, vectored: 1 });
    expect(off.single + off.vectored).toBeGreaterThan(50);
  });

  it('a reconnected socket is coalesced too', async () => {
    const client = await connect('coalesce-reconnect', true);
    const before = (client as unknown as { stream: Socket }).stream;
    const killer = await connect('coalesce-killer', false);
    await killer.call('CLIENT', 'KILL', 'ID', String(await client.client('ID')));
    await waitFor(
      () => ((client as unknown as { stream: Socket }).stream !== before && client.status === 'ready') || null,
      'reconnected',
      5_000,
      10,
    );
    const counts = countWrites(client);
    await burst(client, 'again');
    expect(counts).toEqual({ single: 0, vectored: 1 });
  });
});
