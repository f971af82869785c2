/**
 * Helpers for this project's tests: a real Redis (whatever ensureRedis found; never mocked), a
 * private namespace per test so parallel tests and the developer's own data never meet, and
 * cleanup that deletes only that namespace's keys.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export { freePort, startPrivateRedis } from './ensure-redis.ts';

export function testRedisUrl(): string {
  return process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
}

/** A namespace unique to one test: `t<hex>`. Use it for SWITCHYARD_NAMESPACE and state stores. */
export function testNamespace(label = 't'): string {
  return `${label.replace(/[^A-Za-z0-9]/g, '').slice(0, 12)}${randomBytes(5).toString('hex')}`;
}

/** Deletes every key that contains the namespace (queue keys, state keys, events). */
export async function deleteNamespace(url: string, namespace: string): Promise<number> {
  const client = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: false });
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `*${namespace}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await client.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
  return deleted;
}

/** Polls `check` until it returns a truthy value or the deadline passes (then, after a last check, throws with `what`). */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 10_000, everyMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  // One last look: a machine that held this process from before the deadline until past it would
  // otherwise fail a wait whose condition came true meanwhile, never having checked it.
  try {
    const value = await check();
    if (value) return value as NonNullable<T>;
  } catch (err) {
    last = err;
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/**
 * Awaits `promise`, counting the event-loop turns (setImmediate round trips) it took to settle.
 * "Answered at once, without waiting on I/O" is a claim about turns, which CPU contention cannot
 * stretch: a busy 2-core machine makes every turn slower, never more numerous, while a wait on a
 * timer or a dead server takes hundreds of turns even on an idle one.
 */
export async function settleInTurns<T>(promise: Promise<T>): Promise<{ value: T; turns: number }> {
  let settled = false;
  const mark = () => {
    settled = true;
  };
  promise.then(mark, mark);
  let turns = 0;
  while (!settled) {
    await new Promise((resolve) => setImmediate(resolve));
    turns++;
  }
  return { value: await promise, turns };
}

/**
 * How late a `ms` timer armed now really fires: what a busy machine took from this process
 * meanwhile. A bound on something that ends at its own `ms` timer adds it, so it tests the code,
 * not the scheduler (on an idle machine it is ~1 ms and the bound stays as strict as designed).
 */
export function timerLateness(ms: number): Promise<number> {
  const armed = performance.now();
  return new Promise((resolve) => setTimeout(() => resolve(Math.max(0, performance.now() - armed - ms)), ms));
}

/**
 * Waits, when fewer than `marginMs` are left in the current UTC minute, until the next minute has
 * begun; returns the time it then is. Metrics and usage are kept per UTC minute: a test that writes
 * calls and then reads "this minute" by the clock calls it first, so everything it does within
 * `marginMs` lands in one minute. It waits in one run of every 60 s / `marginMs`, never past `marginMs`.
 */
export function clearOfMinuteBoundary(marginMs = 5_000): Promise<number> {
  return clearOfBoundary(60_000, marginMs);
}

/**
 * The same for UTC days (budgets, usage and daily metrics are kept per day; a month ends where a
 * day does): waits only within `marginMs` of midnight UTC, so a test reading "today" or "this
 * month" back can afford a margin far longer than it takes. The wait counts against the test's
 * own timeout (60 s; hooks 120 s): `marginMs` plus what the test does must stay under it.
 */
export function clearOfDayBoundary(marginMs = 15_000): Promise<number> {
  return clearOfBoundary(86_400_000, marginMs);
}

async function clearOfBoundary(periodMs: number, marginMs: number): Promise<number> {
  if (!(marginMs >= 0 && marginMs < periodMs)) throw new RangeError(`marginMs must be from 0 to under ${periodMs} ms, got ${marginMs}`);
  const next = (Math.floor(Date.now() / periodMs) + 1) * periodMs;
  if (next - Date.now() >= marginMs) return Date.now();
  // A timer may fire a millisecond early: wait until the clock reads the next period.
  while (Date.now() < next) await new Promise((r) => setTimeout(r, next - Date.now() + 1));
  return Date.now();
}

export { parseMonitorLine, type RedisCommandWatch, type WatchedCommand, watchRedisCommands } from './redis-command-watch.ts';
