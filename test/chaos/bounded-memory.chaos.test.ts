/**
 * Bounded memory: 100,000 jobs (mock/echo, no I/O; one in five fails at once with a bad_request)
 * go through the real API (batches of 1,000 over POST /v1/jobs/batch, i.e. BullMQ addBulk with the
 * API's own job options) and real workers. Finished jobs are removed by count (RESULT_MAX_COUNT, for
 * completed and for failed jobs) and age (RESULT_TTL_S / FAILED_TTL_S), so once they are all done
 * Redis must hold at most RESULT_MAX_COUNT of each and its memory must stay under the bound those
 * settings imply:
 *
 *   used_memory_after <= used_memory_before + RESULT_MAX_COUNT x (COMPLETED_BYTES_MAX + FAILED_BYTES_MAX)
 *                        + EVENTS_BYTES_MAX + FIXED_BYTES
 *
 * COMPLETED_BYTES_MAX / FAILED_BYTES_MAX bound what one kept job costs in Redis (its hash plus its
 * entry in the completed or failed set); EVENTS_BYTES_MAX bounds BullMQ's event stream (trimmed to ~10,000 entries); FIXED_BYTES
 * covers what does not grow with jobs (metrics hashes, worker registry, scripts, client buffers).
 * The test checks each term on its own too (per-job sizes, stream length, kept-job count), so a
 * bound that holds only by luck of the slack would still be caught.
 */
import { QUEUE_NAME, queuePrefix } from '@switchyard/shared';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChaosCluster } from './support/cluster.ts';
import { call, mapLimit, mb, round, sizeFromEnv, sleep } from './support/http.ts';
import { info, scanRedisForSecrets, usedMemory } from './support/redis.ts';
import { ChaosReport, progress } from './support/report.ts';
import { scanner } from './support/secrets.ts';

const JOBS = sizeFromEnv('CHAOS_MEMORY_JOBS', 100_000);
const BATCH = 1_000;
const RESULT_MAX_COUNT = 10_000;
const RESULT_TTL_S = 3_600;
/** At most this many jobs wait in the queue at once: the submitter paces itself (bounded backlog). */
const MAX_BACKLOG = 20_000;
const KiB = 1024;
const MiB = 1024 * KiB;
const COMPLETED_BYTES_MAX = 2 * KiB;
const FAILED_BYTES_MAX = 3 * KiB;
const EVENTS_BYTES_MAX = 4 * MiB;
const FIXED_BYTES = 4 * MiB;
const BOUND_BYTES = RESULT_MAX_COUNT * (COMPLETED_BYTES_MAX + FAILED_BYTES_MAX) + EVENTS_BYTES_MAX + FIXED_BYTES;
/** Every FAIL_EVERY-th job fails at once (a 400 from the mock: bad_request, permanent, no retry). */
const FAIL_EVERY = 5;

const report = new ChaosReport('bounded-memory', 'Bounded Redis memory after 100,000 jobs', 6, 2);
let cluster: ChaosCluster;
let redis: Redis;
let queue: Queue;

beforeAll(async () => {
  cluster = await ChaosCluster.start({
    name: 'memory',
    workers: 2,
    env: {
      MOCK_PROVIDER: 'true',
      DEFAULT_MODEL: 'mock/echo',
      WORKER_CONCURRENCY: '64',
      RATE_LIMIT_RPM: '0',
      RESULT_MAX_COUNT: String(RESULT_MAX_COUNT),
      RESULT_TTL_S: String(RESULT_TTL_S),
      // 100,000 "job completed" lines would be most of the work: warnings and errors only.
      LOG_LEVEL: 'warn',
    },
  });
  redis = cluster.client();
  queue = new Queue(QUEUE_NAME, { connection: redis, prefix: queuePrefix(cluster.namespace), skipVersionCheck: true });
  progress('cluster up: api + 2 workers');
});

afterAll(async () => {
  try {
    await queue?.close().catch(() => {});
    redis?.disconnect();
    await cluster?.stop();
  } finally {
    // Whatever happened above, this file's section of bench/results/chaos.md is written.
    report.write();
  }
});

async function jobKeys(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 5000);
    cursor = next;
    // Job hashes are <prefix>:<id>; the queue's own keys (wait, completed, events, meta...) and per-job side keys have other shapes.
    for (const key of batch) if (/^[0-9a-f-]{36}$/.test(key.slice(prefix.length + 1))) keys.push(key);
  } while (cursor !== '0');
  return keys;
}

describe('bounded memory', () => {
  it(`after ${JOBS.toLocaleString('en-US')} completed jobs Redis holds at most RESULT_MAX_COUNT and stays under the bound`, async () => {
    const prefix = `${queuePrefix(cluster.namespace)}:${QUEUE_NAME}`;
    await sleep(1000);
    const before = await usedMemory(redis);
    let peak = before;
    const sampler = setInterval(() => {
      usedMemory(redis)
        .then((m) => {
          peak = Math.max(peak, m);
        })
        .catch(() => {});
    }, 500);

    const started = Date.now();
    let submitted = 0;
    let refused = 0;
    const refusals: string[] = [];
    const backlog = async () =>
      Object.values(await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized')).reduce((a, b) => a + b, 0);
    const batches = Array.from({ length: Math.ceil(JOBS / BATCH) }, (_, b) => Math.min(BATCH, JOBS - b * BATCH));
    await mapLimit(batches, 2, async (size, b) => {
      while ((await backlog()) > MAX_BACKLOG) await sleep(200);
      const answer = await call(cluster.apiUrl, '/v1/jobs/batch', {
        body: {
          jobs: Array.from({ length: size }, (_, k) => {
            const i = b * BATCH + k;
            return { messages: [{ role: 'user', content: `memory job ${i}${i % FAIL_EVERY === 0 ? ' [[mock:status=400]]' : ''}` }] };
          }),
        },
        timeoutMs: 60_000,
      });
      if (answer.status === 202) submitted += size;
      else {
        refused += size;
        refusals.push(`${answer.status} after ${round(answer.ms)} ms: ${answer.error ?? answer.text.slice(0, 160)}`);
      }
      if (b % 20 === 19) progress(`${submitted} submitted, backlog ${await backlog()}`);
    });
    const submitS = (Date.now() - started) / 1000;
    const deadline = Date.now() + 600_000;
    while ((await backlog()) > 0 && Date.now() < deadline) await sleep(500);
    const drainedS = (Date.now() - started) / 1000;
    progress(`all ${submitted} jobs done in ${round(drainedS, 1)} s`);
    // Let the last reports and events land, then measure a quiet Redis.
    await sleep(2000);
    clearInterval(sampler);
    const after = await usedMemory(redis);
    const memInfo = await info(redis, 'memory');

    const counts = await queue.getJobCounts('completed', 'failed', 'waiting', 'active', 'delayed');
    const kept = await jobKeys(prefix);
    // What one kept job of each kind costs: the largest hash of a sample of 300, plus its share of its sorted set.
    const keptBytes = async (state: 'completed' | 'failed') => {
      const ids = await redis.zrange(`${prefix}:${state}`, '0', '299');
      const sizes = await Promise.all(ids.map((id) => redis.memory('USAGE', `${prefix}:${id}`, 'SAMPLES', '0').then(Number)));
      const set = Number(await redis.memory('USAGE', `${prefix}:${state}`, 'SAMPLES', '0'));
      const count = await redis.zcard(`${prefix}:${state}`);
      return Math.max(0, ...sizes) + (count ? set / count : 0);
    };
    const completedBytes = await keptBytes('completed');
    const failedBytes = await keptBytes('failed');
    const jobBytes = (completedBytes * (FAIL_EVERY - 1) + failedBytes) / FAIL_EVERY;
    const eventsLength = await redis.xlen(`${prefix}:events`);
    const eventsBytes = Number(await redis.memory('USAGE', `${prefix}:events`, 'SAMPLES', '0'));
    const metrics = (await call(cluster.apiUrl, '/v1/metrics?days=2')).json();
    const mock = metrics.totals.find((t: { provider: string }) => t.provider === 'mock') ?? { total: 0, success: 0, failures: {} };
    const failing = Math.ceil(JOBS / FAIL_EVERY);
    const unbounded = submitted * jobBytes;

    const total = submitted + refused;
    report.summary =
      `${total.toLocaleString('en-US')} jobs (1 in ${FAIL_EVERY} failing): ${kept.length.toLocaleString('en-US')} kept ` +
      `(max ${RESULT_MAX_COUNT.toLocaleString('en-US')} of each); used_memory ${mb(before)} -> ${mb(after)} MiB ` +
      `(bound ${mb(before + BOUND_BYTES)} MiB; peak ${mb(peak)} MiB)`;
    report.headline(
      'Redis used_memory before / after 100,000 jobs (bound)',
      `${mb(before)} / ${mb(after)} MiB (${mb(before + BOUND_BYTES)} MiB), ${kept.length} of ${total} jobs kept`,
    );
    report.set('jobs submitted (batches of 1,000, API addBulk)', submitted);
    report.set('jobs completed / failed (mock provider calls in /v1/metrics)', `${mock.success} / ${mock.failures.bad_request ?? 0}`);
    report.set(
      'retention',
      `RESULT_MAX_COUNT=${RESULT_MAX_COUNT} (completed and failed each), RESULT_TTL_S=${RESULT_TTL_S}, FAILED_TTL_S default (the run is shorter than the TTLs: the counts bind)`,
    );
    report.set(
      'submission / all done',
      `${round(submitS, 1)} s / ${round(drainedS, 1)} s (${round(submitted / drainedS)} jobs/s, backlog kept under ${MAX_BACKLOG})`,
    );
    report.set('queue counts after', JSON.stringify(counts));
    report.set('job hashes left in Redis', kept.length);
    report.set(
      'one kept job in Redis: max hash + set entry (sample of 300), completed / failed',
      `${round(completedBytes)} B / ${round(failedBytes)} B (limits ${COMPLETED_BYTES_MAX} B / ${FAILED_BYTES_MAX} B)`,
    );
    report.set(
      'BullMQ event stream: entries, bytes',
      `${eventsLength}, ${mb(eventsBytes)} MiB (limit EVENTS_BYTES_MAX ${mb(EVENTS_BYTES_MAX)} MiB)`,
    );
    report.set('used_memory before / peak / after', `${mb(before)} / ${mb(peak)} / ${mb(after)} MiB`);
    report.set(
      'bound',
      `before + RESULT_MAX_COUNT x (COMPLETED_BYTES_MAX + FAILED_BYTES_MAX) + EVENTS_BYTES_MAX + FIXED_BYTES = ${mb(before)} + ${mb(RESULT_MAX_COUNT * (COMPLETED_BYTES_MAX + FAILED_BYTES_MAX))} + ${mb(EVENTS_BYTES_MAX)} + ${mb(FIXED_BYTES)} = ${mb(before + BOUND_BYTES)} MiB`,
    );
    report.set('growth over before', `${mb(after - before)} MiB (${round(((after - before) / BOUND_BYTES) * 100)}% of the allowance)`);
    report.set('without retention (every job kept) it would be about', `${mb(unbounded)} MiB more`);
    report.set('used_memory_rss / fragmentation after', `${mb(Number(memInfo.used_memory_rss))} MiB / ${memInfo.mem_fragmentation_ratio}`);
    report.set('jobs in batches refused at submission (non-202)', refused);
    report.set('jobs run (provider calls) beyond those accepted with a 202', mock.total - submitted);
    if (refusals.length > 0) {
      const apiWarnings = (cluster.api?.lines ?? []).filter((l) => l.includes('redis unavailable')).slice(0, 2);
      report.note(
        `BUG: ${refusals.length} batches were answered non-202 (${refusals.slice(0, 3).join(' | ')}) although their jobs were enqueued and ran ` +
          `(${mock.total} provider calls for ${submitted} jobs accepted). API log: ${apiWarnings.join(' ').slice(0, 400)}`,
      );
    }
    report.note(
      'Bound: used_memory_after <= used_memory_before + RESULT_MAX_COUNT x (COMPLETED_BYTES_MAX + FAILED_BYTES_MAX) + EVENTS_BYTES_MAX + FIXED_BYTES, with ' +
        `COMPLETED_BYTES_MAX = ${COMPLETED_BYTES_MAX} B and FAILED_BYTES_MAX = ${FAILED_BYTES_MAX} B (a kept job: its hash of data, options and result or ` +
        `error with its attempts, plus its entry in the completed or failed set), EVENTS_BYTES_MAX = ${mb(EVENTS_BYTES_MAX)} MiB (BullMQ trims its event ` +
        `stream to about 10,000 entries) and FIXED_BYTES = ${mb(FIXED_BYTES)} MiB (metrics hashes: per provider one lifetime, one per day for 30 days, ` +
        'one per minute for a few hours; worker registry; rate-limit keys). The API sets removeOnComplete {age: RESULT_TTL_S, count: RESULT_MAX_COUNT} ' +
        `and removeOnFail {age: FAILED_TTL_S, count: RESULT_MAX_COUNT}; with RESULT_MAX_COUNT=${RESULT_MAX_COUNT} that is ${mb(BOUND_BYTES)} MiB above an ` +
        'idle Redis whatever the number of jobs. Jobs also leave by age, but only when a later job finishes (BullMQ trims on completion), so the count is ' +
        'the bound to rely on.',
    );

    expect(submitted + refused).toBe(JOBS);
    expect(mock.success).toBe(JOBS - failing);
    expect(mock.failures.bad_request ?? 0).toBe(failing);
    expect(counts.failed).toBeLessThanOrEqual(RESULT_MAX_COUNT);
    expect((counts.waiting ?? 0) + (counts.active ?? 0) + (counts.delayed ?? 0)).toBe(0);
    expect(counts.completed).toBeLessThanOrEqual(RESULT_MAX_COUNT);
    expect(kept.length).toBeLessThanOrEqual(2 * RESULT_MAX_COUNT);
    expect(completedBytes).toBeLessThanOrEqual(COMPLETED_BYTES_MAX);
    expect(failedBytes).toBeLessThanOrEqual(FAILED_BYTES_MAX);
    expect(eventsBytes).toBeLessThanOrEqual(EVENTS_BYTES_MAX);
    expect(after).toBeLessThanOrEqual(before + BOUND_BYTES);
    report.passed();
  });

  it('leaks no key in any log line, response or Redis value', async () => {
    report.set('Redis keys scanned for secrets', await scanRedisForSecrets(redis));
    await cluster.stop();
    expect(scanner.leaks).toEqual([]);
    report.passed();
  });
});
