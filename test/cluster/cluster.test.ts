/**
 * Scale-out beyond one Redis: the whole system on a private 3-master Redis Cluster
 * (REDIS_CLUSTER_NODES). BullMQ's hash-tagged queue prefix keeps every queue key in one slot, the
 * state store's keys carry a tag per provider, and Redis itself rejects any command or script that
 * spans two slots (CROSSSLOT), so these tests have teeth:
 * 1. end to end: the API and two worker processes complete a few dozen jobs (POST /v1/jobs and
 *    the OpenAI facade), status and the worker registry answer;
 * 2. the breaker: failures reported at the same moment from four separate processes are all
 *    counted, and the circuit opens at exactly the threshold, once.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { createLogger, createRedis, hasBinary, loadConfig, waitForRedis } from '@switchyard/shared';
import { testNamespace, waitFor } from '@switchyard/shared/testing';
import { createStateStore } from '@switchyard/state';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fleet, postJson, REPO_ROOT, startFleet } from '../support/processes.ts';
import { startTestCluster, type TestCluster } from './redis-cluster.ts';

const canRun = hasBinary('redis-server') && hasBinary('redis-cli');

describe.runIf(canRun)('on a 3-master Redis Cluster', () => {
  let cluster: TestCluster;
  let clusterEnv: Record<string, string>;

  beforeAll(async () => {
    cluster = await startTestCluster(3);
    clusterEnv = {
      // REDIS_URL must be valid, and points at the cluster too: nothing here reaches another Redis.
      REDIS_URL: `redis://${cluster.nodes[0]}`,
      REDIS_CLUSTER_NODES: cluster.nodes.join(','),
    };
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  describe('end to end', () => {
    let fleet: Fleet | undefined;
    afterAll(async () => {
      await fleet?.stop();
    });

    it('the API and two workers complete jobs submitted over HTTP and through the OpenAI facade', async () => {
      fleet = await startFleet({
        namespace: testNamespace('cl'),
        workers: 2,
        env: { ...clusterEnv, MOCK_PROVIDER: 'true', WORKER_CONCURRENCY: '8', RATE_LIMIT_RPM: '0' },
      });
      const JOBS = 36;
      const submitted = await Promise.all(
        Array.from({ length: JOBS }, (_, i) =>
          postJson(`${fleet!.apiUrl}/v1/jobs`, { model: 'mock/echo', messages: [{ role: 'user', content: `cluster job ${i}` }] }),
        ),
      );
      expect(submitted.map((s) => s.status)).toEqual(Array(JOBS).fill(202));
      const views = await Promise.all(
        submitted.map((s) => fetch(`${fleet!.apiUrl}/v1/jobs/${s.body.id}?wait_ms=30000`).then((r) => r.json() as Promise<any>)),
      );
      const notDone = views.filter((v) => v.status !== 'completed');
      expect(notDone, JSON.stringify(notDone.slice(0, 2))).toHaveLength(0);
      views.forEach((view, i) => {
        expect(view.result.content).toContain(`cluster job ${i}`);
      });

      // The facade waits on the completion channel: pub/sub across the cluster's nodes.
      const chat = await postJson(`${fleet.apiUrl}/v1/chat/completions`, {
        model: 'mock/echo',
        messages: [{ role: 'user', content: 'hello from the facade' }],
      });
      expect(chat.status, JSON.stringify(chat.body)).toBe(200);
      expect(chat.body.choices[0].message.content).toContain('hello from the facade');

      const status = await fetch(`${fleet.apiUrl}/v1/providers/status`).then((r) => r.json() as Promise<any>);
      expect(status.providers.find((p: { provider: string }) => p.provider === 'mock')).toMatchObject({ state: 'active' });
      const workers = await fetch(`${fleet.apiUrl}/v1/workers`).then((r) => r.json() as Promise<any>);
      expect(workers.count).toBe(2);
      const crossSlot = [fleet.api, ...fleet.workers].flatMap((p) => p.lines).filter((l) => /CROSSSLOT|same slot/i.test(l));
      expect(crossSlot).toEqual([]);
    }, 90_000);
  });

  describe('fleet-wide breaker', () => {
    const THRESHOLD = 20;
    const members: ChildProcessWithoutNullStreams[] = [];
    afterAll(() => {
      for (const m of members) m.kill('SIGKILL');
    });

    it('failures reported at once from four processes open the circuit at exactly the threshold', async () => {
      const namespace = testNamespace('clbr');
      const env = {
        ...process.env,
        ...clusterEnv,
        SWITCHYARD_NAMESPACE: namespace,
        MOCK_PROVIDER: 'true',
        CIRCUIT_FAILURE_THRESHOLD: String(THRESHOLD),
      };
      const replies: Array<AsyncIterator<string>> = [];
      for (let i = 0; i < 4; i++) {
        const child = spawn(process.execPath, ['--import', 'tsx', resolve(REPO_ROOT, 'test/cluster/fixtures/reporter.ts')], {
          cwd: REPO_ROOT,
          env,
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        members.push(child);
        replies.push(createInterface({ input: child.stdout })[Symbol.asyncIterator]());
      }
      const next = async (i: number) => {
        const line = await replies[i]!.next();
        if (line.done) throw new Error(`reporter ${i} exited: ${members[i]!.stderr.read()?.toString() ?? ''}`);
        return line.value;
      };
      expect(await Promise.all(members.map((_, i) => next(i)))).toEqual(Array(4).fill('ready'));

      const config = loadConfig({
        ...clusterEnv,
        SWITCHYARD_NAMESPACE: namespace,
        MOCK_PROVIDER: 'true',
        CIRCUIT_FAILURE_THRESHOLD: String(THRESHOLD),
      });
      const redis = createRedis(config, 'blocking', 'cluster-test');
      await waitForRedis(redis, 20_000, config.REDIS_URL);
      const store = createStateStore(redis, config, createLogger({ name: 'cluster-test', level: 'silent' }));
      const opened: number[] = [];
      const subscription = store.subscribe((event) => {
        if (event.type === 'circuit' && event.to === 'open') opened.push(event.consecutive_failures);
      });
      try {
        await subscription.ready;
        // 4 processes x 4 failures, all at once: 16 < 20, every one counted, still closed.
        for (const m of members) m.stdin.write('report 4\n');
        expect(await Promise.all(members.map((_, i) => next(i)))).toEqual(Array(4).fill('done 4'));
        expect(await store.breaker.read('mock')).toMatchObject({ state: 'closed', consecutive_failures: 16 });

        // One more from each: the 20th opens it, exactly once.
        for (const m of members) m.stdin.write('report 1\n');
        expect(await Promise.all(members.map((_, i) => next(i)))).toEqual(Array(4).fill('done 1'));
        const circuit = await store.breaker.read('mock');
        expect(circuit).toMatchObject({ state: 'open', consecutive_failures: THRESHOLD, trips: 1 });
        await waitFor(() => opened.length > 0, 'the circuit-open event', 15_000);
        expect(opened).toEqual([THRESHOLD]);
        expect(await store.admit('mock')).toMatchObject({ admitted: false });
      } finally {
        for (const m of members) m.stdin.write('quit\n');
        await subscription.close();
        redis.disconnect();
      }
    }, 60_000);
  });
});
