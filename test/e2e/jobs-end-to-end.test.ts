/**
 * The walking skeleton, end to end on a real Redis: the API and two worker processes as real
 * child processes; 200 jobs over HTTP all complete with the mock's output, none twice.
 */
import type { JobView } from '@switchyard/shared';
import { deleteNamespace, testNamespace, testRedisUrl, waitFor } from '@switchyard/shared/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fleet, launch, postJson, startFleet, WORKER_SCRIPT } from '../support/processes.ts';

const JOBS = 200;
let fleet: Fleet;
const namespace = testNamespace('e2e');

beforeAll(async () => {
  fleet = await startFleet({ namespace, workers: 2, env: { WORKER_CONCURRENCY: '8', MOCK_PROVIDER: 'true' } });
});
afterAll(async () => {
  await fleet?.stop();
  await deleteNamespace(testRedisUrl(), namespace);
});

describe('end to end: API + 2 worker processes + mock provider', () => {
  it(`completes ${JOBS} jobs submitted over HTTP, each exactly once, with the mock's output`, async () => {
    const submitted = await Promise.all(
      Array.from({ length: JOBS }, (_, i) =>
        postJson(`${fleet.apiUrl}/v1/jobs`, { model: 'mock/echo', messages: [{ role: 'user', content: `job number ${i}` }] }),
      ),
    );
    expect(submitted.every((s) => s.status === 202)).toBe(true);
    const ids = submitted.map((s) => s.body.id as string);
    expect(new Set(ids).size).toBe(JOBS);

    const views = await Promise.all(
      ids.map((id) => fetch(`${fleet.apiUrl}/v1/jobs/${id}?wait_ms=30000`).then((r) => r.json() as Promise<JobView>)),
    );
    const notDone = views.filter((v) => v.status !== 'completed');
    expect(notDone, JSON.stringify(notDone.slice(0, 3))).toHaveLength(0);
    views.forEach((view, i) => {
      expect(view.result?.provider).toBe('mock');
      expect(view.result?.content).toContain(`job number ${i}`);
      expect(view.result?.attempts.length).toBeGreaterThanOrEqual(1);
    });

    // Each job ran on exactly one worker: count "job completed" log events per job id.
    const completedBy = new Map<string, number>();
    fleet.workers.forEach((worker) => {
      for (const line of worker.lines) {
        if (!line.includes('"job completed"')) continue;
        const event = JSON.parse(line) as { jobId: string; provider: string };
        expect(event.provider).toBe('mock');
        completedBy.set(event.jobId, (completedBy.get(event.jobId) ?? 0) + 1);
      }
    });
    expect(completedBy.size).toBe(JOBS);
    expect([...completedBy.values()].every((n) => n === 1)).toBe(true);
    // Both replicas took work.
    const perWorker = fleet.workers.map((w) => w.lines.filter((l) => l.includes('"job completed"')).length);
    expect(perWorker.every((n) => n > 0)).toBe(true);
  });

  it('SIGTERM drains a worker and it exits 0', async () => {
    const extra = await fleet.startWorker();
    const t0 = Date.now();
    const exit = await extra.kill('SIGTERM');
    expect(exit, `after ${Date.now() - t0} ms: ${extra.lines.slice(-8).join('\n')}`).toMatchObject({ code: 0, signal: null });
  });

  it('SIGTERM while a worker is still starting (already in the registry): it exits 0, not by the signal', async () => {
    const env = fleet.workers[0]!.env;
    const starting = launch({ script: WORKER_SCRIPT, env, name: 'starting-worker' });
    const redis = new Redis(testRedisUrl());
    try {
      // Its first heartbeat lands before it takes jobs: signal it the moment it shows up.
      await waitFor(
        async () => {
          const live = await redis.zrange(`${env.SWITCHYARD_NAMESPACE}:{workers}:live`, '0', '-1');
          return live.some((id) => id.includes(`:${starting.pid}:`)) || !starting.alive() || null;
        },
        'the starting worker in the registry',
        60_000,
        2,
      );
      const { code, signal } = await starting.kill('SIGTERM');
      expect({ code, signal }).toEqual({ code: 0, signal: null });
    } finally {
      redis.disconnect();
    }
  });
});
