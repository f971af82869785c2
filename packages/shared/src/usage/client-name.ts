/**
 * Owns how usage names a client: a client of the config file by its own name; a key of API_KEYS
 * (or ADMIN_API_KEYS) by `key-<digest>`, 8 hex characters of the key's sha256 (enough to tell a
 * fleet's keys apart, useless for guessing one); without API_KEYS, the one client `anonymous`.
 */
import { createHash } from 'node:crypto';

export const ANONYMOUS_CLIENT = 'anonymous';

export function keyClientName(key: string): string {
  return `key-${createHash('sha256').update(key).digest('hex').slice(0, 8)}`;
}
