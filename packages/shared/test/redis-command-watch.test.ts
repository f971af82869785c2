/**
 * The MONITOR watcher used by tests that count round trips: it must see every command run before
 * settle(), parse Redis's quoting, and survive other clients flooding the server while it starts
 * and stops (what made ioredis's monitor() throw out of its socket handler).
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { parseMonitorLine, testNamespace, testRedisUrl, watchRedisCommands } from '../src/testing.ts';

const clients: Redis[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.quit().catch(() => c.disconnect())));
});

describe('watchRedisCommands', () => {
  it('parses quoted and escaped arguments and the source', () => {
    expect(parseMonitorLine('+1700000000.123456 [0 127.0.0.1:5000] "SET" "a\\"b" "c\\\\d" "\\x00\\n"')).toEqual({
      name: 'set',
      args: ['a"b', 'c\\d', '\u0000\n'],
      source: '127.0.0.1:5000',
    });
    expect(parseMonitorLine('+1700000000.1 [0 lua] "hincrby" "k" "f" "1"')).toMatchObject({ name: 'hincrby', source: 'lua' });
    expect(parseMonitorLine('+OK')).toBeUndefined();
  });

  it('sees every command awaited before settle(), in order, while another client floods the server', async () => {
    const ns = testNamespace('watch');
    const flood = new Redis(testRedisUrl());
    const writer = new Redis(testRedisUrl());
    clients.push(flood, writer);
    let flooding = true;
    const floodLoop = (async () => {
      while (flooding) await flood.get(`${ns}:noise`);
    })();
    // Start and stop several monitors mid-flood: none may throw, each sees exactly its own writes.
    for (let round = 0; round < 5; round++) {
      const watch = await watchRedisCommands(testRedisUrl(), (c) => c.name === 'set' && String(c.args[0]).startsWith(`${ns}:r${round}`));
      for (let i = 0; i < 50; i++) await writer.set(`${ns}:r${round}:${i}`, `v${i}`);
      await watch.settle();
      expect(watch.commands.map((c) => c.args[0])).toEqual(Array.from({ length: 50 }, (_, i) => `${ns}:r${round}:${i}`));
      watch.stop();
    }
    flooding = false;
    await floodLoop;
    await writer.del(...Array.from({ length: 5 }, (_, r) => Array.from({ length: 50 }, (_, i) => `${ns}:r${r}:${i}`)).flat());
  });
});
