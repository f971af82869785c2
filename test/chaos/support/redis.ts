/**
 * Owns what the chaos tests read straight from their private Redis: INFO figures and a full dump
 * of every value, scanned for secrets (a key stored in Redis would sooner or later reach a status
 * response, a metric or a log line).
 */
import type { Redis } from 'ioredis';
import { scanner } from './secrets.ts';

export async function info(client: Redis, section: string): Promise<Record<string, string>> {
  const text = await client.info(section);
  const out: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const at = line.indexOf(':');
    if (at > 0) out[line.slice(0, at)] = line.slice(at + 1);
  }
  return out;
}

export async function usedMemory(client: Redis): Promise<number> {
  return Number((await info(client, 'memory')).used_memory);
}

/** Scans every value in Redis for secrets; returns how many keys it read. */
export async function scanRedisForSecrets(client: Redis): Promise<number> {
  let cursor = '0';
  let keys = 0;
  do {
    const [next, batch] = await client.scan(cursor, 'COUNT', 500);
    cursor = next;
    for (const key of batch) {
      keys += 1;
      const type = await client.type(key);
      let value: unknown;
      switch (type) {
        case 'string':
          value = await client.get(key);
          break;
        case 'hash':
          value = await client.hgetall(key);
          break;
        case 'list':
          value = await client.lrange(key, 0, 999);
          break;
        case 'set':
          value = await client.sscan(key, '0', 'COUNT', '1000');
          break;
        case 'zset':
          value = await client.zrange(key, '0', '999');
          break;
        case 'stream':
          value = await client.xrevrange(key, '+', '-', 'COUNT', 2000);
          break;
        default:
          value = null;
      }
      scanner.redisValue(`${key}\n${JSON.stringify(value)}`, `redis ${type}`);
    }
  } while (cursor !== '0');
  return keys;
}
