/**
 * JobSignals on a real Redis: cancels and watches published by the API are remembered in memory,
 * and a job is "unsure" (Redis must be asked) exactly when a signal about it may have gone by
 * while this process was not subscribed: before start, within the clock-skew margin, and from a
 * lost connection until it is back.
 */
import { cancelChannel, watchChannel } from '@switchyard/shared';
import { testNamespace, testRedisUrl, waitFor } from '@switchyard/shared/testing';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { JobSignals } from '../src/job-signals.ts';

const clients: Redis[] = [];
const connect = () => {
  const client = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  clients.push(client);
  return client;
};
afterEach(() => {
  for (const client of clients.splice(0)) client.disconnect();
});

describe('JobSignals', () => {
  it('remembers cancels and watches, and calls the cancel listener as they arrive', async () => {
    const namespace = testNamespace('sig');
    const signals = new JobSignals(connect(), namespace, { clockSkewMs: 0 });
    const heard: string[] = [];
    signals.onCancel((id) => heard.push(id));
    await signals.start();
    const publisher = connect();
    await publisher.publish(cancelChannel(namespace), 'job-1');
    await publisher.publish(watchChannel(namespace), 'job-2');
    await publisher.publish(cancelChannel(`${namespace}-other`), 'job-3');
    await waitFor(() => signals.watched('job-2') || null, 'watch heard', 10_000, 5);
    expect(heard).toEqual(['job-1']);
    expect(signals.cancelled('job-1')).toBe(true);
    expect(signals.cancelled('job-2')).toBe(false);
    expect(signals.watched('job-1')).toBe(false);
    expect(signals.cancelled('job-3')).toBe(false);
  });

  it('forgets signals after their time and beyond the cap, oldest first', async () => {
    let now = 1_000_000;
    const namespace = testNamespace('sig');
    const signals = new JobSignals(connect(), namespace, { rememberMs: 1_000, maxRemembered: 2, now: () => now });
    await signals.start();
    const publisher = connect();
    for (const id of ['a', 'b', 'c']) await publisher.publish(cancelChannel(namespace), id);
    await waitFor(() => signals.cancelled('c') || null, 'cancel heard', 10_000, 5);
    expect([signals.cancelled('a'), signals.cancelled('b')]).toEqual([false, true]);
    now += 1_001;
    expect(signals.cancelled('b')).toBe(false);
  });

  it('a job is unsure before start, within the skew margin, and while the connection is lost', async () => {
    let now = 5_000_000;
    const subscriber = connect();
    const signals = new JobSignals(subscriber, testNamespace('sig'), { clockSkewMs: 500, now: () => now });
    expect(signals.mayHaveMissed(now + 60_000)).toBe(true); // not subscribed yet
    const id = await subscriber.client('ID'); // a subscribed connection can no longer ask
    await signals.start();
    const live = now;
    expect(signals.mayHaveMissed(live - 10_000)).toBe(true); // created before we listened
    expect(signals.mayHaveMissed(live + 500)).toBe(true); // within the skew margin
    expect(signals.mayHaveMissed(live + 501)).toBe(false);

    // Drop the connection from the server side: ioredis reconnects and re-subscribes by itself.
    const admin = connect();
    now += 10_000;
    await admin.client('KILL', 'ID', String(id));
    await waitFor(() => (signals.mayHaveMissed(live + 1_000) ? true : null), 'connection loss noticed', 10_000, 5);
    // Back, and listening since the reconnect (ioredis re-subscribes after it reads `ready`, so the
    // test waits for the listening itself): only jobs from then on are sure.
    await waitFor(() => (signals.mayHaveMissed(now + 501) ? null : true), 'listening again', 10_000, 10);
    expect(subscriber.status).toBe('ready');
    expect(signals.mayHaveMissed(live + 1_000)).toBe(true);
  });
});
