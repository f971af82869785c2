/**
 * One budget per job across queue-level retries and shutdown hand-backs (DESIGN.md section 4: the
 * job ends at the budget, never after it), on a real Redis with BullMQ and the real JobWorker +
 * RouterRunner. The routers are stand-ins that behave like the real one at its edges: one uses the
 * budget it is given and fails transiently (a retryable class, one 503 call) after 400 ms, or ends
 * the job as `budget_exhausted` when the budget runs out first; one holds its call until the job is
 * aborted (a worker shutting down); one answers at once. The calls of every attempt go with the
 * job: its final error or result lists them all, numbered by attempt (job-story.ts). Each stand-in
 * records the budget it was given and when, so the assertions are causal (a budget is what was
 * left when the attempt began, never more than what was left after the previous one ended) and
 * hold however late a loaded machine runs the timers.
 */
import {
  type Attempt,
  createLogger,
  createRedis,
  JOB_ERROR_MARKER,
  type JobError,
  loadConfig,
  QUEUE_NAME,
  type QueuedJobData,
  queuePrefix,
  waitForRedis,
} from '@switchyard/shared';
import { deleteNamespace, testNamespace, testRedisUrl, waitFor } from '@switchyard/shared/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { JobEventPublisher } from '../src/job-events.ts';
import { JobWorker } from '../src/job-worker.ts';
import type { Router } from '../src/router/router.ts';
import { RouterError } from '../src/router/router-error.ts';
import type { RouteJob } from '../src/router/types.ts';
import { RouterRunner } from '../src/router-runner.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const FAIL_AFTER_MS = 400;
const UNAVAILABLE = 'mock HTTP 503: overloaded';

/** One call as the router records it. */
const call = (outcome: Attempt['outcome'], latencyMs: number, message?: string): Attempt => ({
  provider: 'mock',
  model: 'x',
  outcome,
  started_ms: 0,
  latency_ms: latencyMs,
  hedge: false,
  ...(message ? { message } : {}),
});

/** One router call of the stand-ins: the budget it got, when it began (epoch ms) and, if it ended on its own, when. */
interface Routed {
  budgetMs: number;
  at: number;
  endedAt?: number;
}

/** Fails transiently after FAIL_AFTER_MS (one 503 call), or as the real router does when the budget ends first. */
function standInRouter(routed: Routed[]): Router {
  return {
    async route(job: RouteJob) {
      const budgetMs = job.budgetMs ?? 0;
      const record: Routed = { budgetMs, at: Date.now() };
      routed.push(record);
      await new Promise((resolve) => setTimeout(resolve, Math.min(FAIL_AFTER_MS, budgetMs)));
      record.endedAt = Date.now();
      if (budgetMs <= FAIL_AFTER_MS) {
        throw new RouterError({
          errorClass: 'budget_exhausted',
          reason: 'budget',
          message: `job budget of ${budgetMs} ms exhausted; 1 call(s) aborted`,
          attempts: [call('aborted', budgetMs, 'aborted: the job budget ran out')],
          permanent: true,
        });
      }
      throw new RouterError({
        errorClass: 'service_unavailable',
        reason: 'failed',
        message: `every candidate failed: mock/x: service_unavailable; last: ${UNAVAILABLE}`,
        provider: 'mock',
        attempts: [call('service_unavailable', FAIL_AFTER_MS, UNAVAILABLE)],
        permanent: false,
      });
    },
  } as unknown as Router;
}

function storedError(failedReason: string | undefined): JobError {
  expect(failedReason?.startsWith(JOB_ERROR_MARKER)).toBe(true);
  return JSON.parse((failedReason as string).slice(JOB_ERROR_MARKER.length)) as JobError;
}

/** Holds the call until the job's signal aborts (its worker shutting down), recording the budget it got. */
function hangingRouter(routed: Routed[]): Router {
  return {
    async route(job: RouteJob) {
      routed.push({ budgetMs: job.budgetMs ?? 0, at: Date.now() });
      await new Promise<void>((resolve) => {
        if (job.signal?.aborted) resolve();
        job.signal?.addEventListener('abort', () => resolve());
      });
      throw new RouterError({
        errorClass: 'aborted',
        reason: 'cancelled',
        message: 'aborted',
        attempts: [call('aborted', 1_000, 'aborted: the job was cancelled')],
        permanent: true,
      });
    },
  } as unknown as Router;
}

/** Answers at once, recording the budget it got. */
function answeringRouter(routed: Routed[]): Router {
  return {
    async route(job: RouteJob) {
      routed.push({ budgetMs: job.budgetMs ?? 0, at: Date.now() });
      return {
        provider: 'mock',
        model: 'x',
        content: 'ok',
        finish_reason: 'stop',
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
        latency_ms: 1,
        attempts: [call('success', 1)],
      };
    },
  } as unknown as Router;
}

async function startWorker(namespace: string, router: Router): Promise<{ close(deadlineMs: number): Promise<void> }> {
  const config = loadConfig({ REDIS_URL: testRedisUrl(), SWITCHYARD_NAMESPACE: namespace, LOG_LEVEL: 'silent', WORKER_CONCURRENCY: '2' });
  const logger = createLogger({ name: 'budget-test', level: 'silent' });
  const connection = createRedis(config, 'blocking', 'budget-test');
  const commands = createRedis(config, 'request', 'budget-test-cmd');
  const subscriber = createRedis(config, 'blocking', 'budget-test-sub');
  await waitForRedis(commands, 5_000, config.REDIS_URL);
  const worker = new JobWorker({
    config,
    logger,
    connection,
    commands,
    subscriber,
    runner: new RouterRunner(router),
    events: new JobEventPublisher(commands, namespace, logger),
    workerId: `budget-test-${process.pid}`,
  });
  await worker.start();
  let closed: Promise<void> | undefined;
  const close = (deadlineMs: number) => {
    closed ??= worker.close(deadlineMs).finally(() => {
      for (const client of [connection, commands, subscriber]) client.disconnect();
    });
    return closed;
  };
  cleanups.push(async () => {
    await close(1_000);
    await deleteNamespace(testRedisUrl(), namespace);
  });
  return { close };
}

async function openQueue(namespace: string): Promise<Queue<QueuedJobData>> {
  const connection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  const queue = new Queue<QueuedJobData>(QUEUE_NAME, { connection, prefix: queuePrefix(namespace) });
  cleanups.push(async () => {
    await queue.close();
    connection.disconnect();
  });
  return queue;
}

const jobData = (budgetMs: number): QueuedJobData => ({
  request: { messages: [{ role: 'user', content: 'hi' }] },
  model: 'mock/x',
  budget_ms: budgetMs,
  submitted_at: Date.now(),
  stream: false,
});

describe('one budget across queue-level retries', () => {
  it('each retry gets what is left of the first attempt’s budget, and the job ends at the budget', async () => {
    const namespace = testNamespace('budget');
    const routed: Routed[] = [];
    await startWorker(namespace, standInRouter(routed));
    const queue = await openQueue(namespace);
    // Room for about six attempts of 400 ms plus backoff, so a retry still starts within the budget
    // when a loaded machine runs it a second late. Ten allowed: with a fresh budget each, all ten
    // would run.
    const budgetMs = 3_000;
    const job = await queue.add('llm', jobData(budgetMs), { attempts: 10, backoff: { type: 'fixed', delay: 100 } });
    const failed = await waitFor(
      async () => {
        const state = await queue.getJobState(job.id as string);
        return state === 'failed' ? queue.getJob(job.id as string) : null;
      },
      'the job failed for good',
      20_000,
      20,
    );
    const deadline = failed!.data.budget_deadline_at as number;
    // The deadline is the first activation plus the budget: not before the job existed, not after
    // the first call began.
    expect(deadline - budgetMs).toBeGreaterThanOrEqual(failed!.timestamp);
    expect(deadline - budgetMs).toBeLessThanOrEqual(routed[0]!.at);
    // Retried, and ended by the budget before the ten attempts were used up (on a slow machine
    // the budget runs out sooner, so fewer attempts: never more).
    expect(routed.length).toBeGreaterThanOrEqual(2);
    expect(routed.length).toBeLessThan(10);
    for (const [i, r] of routed.entries()) {
      // What was left when the attempt began: the budget was computed just before the call.
      expect(r.budgetMs).toBeGreaterThanOrEqual(deadline - r.at);
      // Never more than what was left once the previous attempt had ended: a fresh budget (3,000
      // ms) breaks this for every retry, since each earlier attempt used 400 ms of it.
      const previous = routed[i - 1];
      if (previous) expect(r.budgetMs).toBeLessThanOrEqual(deadline - (previous.endedAt as number));
    }

    // The whole story: the budget ended it, every attempt's call is listed with its number, the last 503 is named.
    const budgets = routed.map((r) => r.budgetMs);
    const error = storedError(failed!.failedReason);
    expect(error.class).toBe('budget_exhausted');
    const attempts = error.attempts ?? [];
    expect(attempts.map((a) => a.attempt)).toEqual(budgets.map((_, i) => i + 1));
    expect(attempts.filter((a) => a.outcome === 'service_unavailable')).toHaveLength(budgets.filter((b) => b > FAIL_AFTER_MS).length);
    expect(error.last_error).toEqual({ class: 'service_unavailable', message: UNAVAILABLE, provider: 'mock' });
    expect(error.message).toBe(
      `budget of ${budgetMs} ms exhausted after ${attempts.length} call${attempts.length === 1 ? '' : 's'}; last error: service_unavailable from mock: ${UNAVAILABLE}`,
    );
  });

  it('a job handed back on shutdown keeps its deadline: the next worker continues the same budget', async () => {
    const namespace = testNamespace('handback');
    const [leavingCalls, stayingCalls]: [Routed[], Routed[]] = [[], []];
    const leaving = await startWorker(namespace, hangingRouter(leavingCalls));
    const queue = await openQueue(namespace);
    const budgetMs = 5_000;
    const job = await queue.add('llm', jobData(budgetMs), { attempts: 3 });
    await waitFor(() => leavingCalls.length === 1, 'the job running on the leaving worker', 10_000, 10);
    const heldMs = 1_000;
    await new Promise((resolve) => setTimeout(resolve, heldMs));
    const handedBackAfter = Date.now();
    await leaving.close(50); // aborts the job at once: handed back, not failed
    await startWorker(namespace, answeringRouter(stayingCalls));
    const done = await waitFor(
      async () => ((await queue.getJobState(job.id as string)) === 'completed' ? queue.getJob(job.id as string) : null),
      'the job completed on the other worker',
      20_000,
      20,
    );
    const deadline = done!.data.budget_deadline_at as number;
    expect(deadline - budgetMs).toBeGreaterThanOrEqual(done!.timestamp);
    expect(deadline - budgetMs).toBeLessThanOrEqual(leavingCalls[0]!.at);
    expect(leavingCalls[0]!.budgetMs).toBeGreaterThanOrEqual(deadline - leavingCalls[0]!.at);
    // What the leaving worker held it for is spent: the next worker gets what was left when it
    // began, never more than what was left at the hand-back (a fresh budget would be 5,000 ms).
    expect(stayingCalls).toHaveLength(1);
    expect(stayingCalls[0]!.budgetMs).toBeGreaterThanOrEqual(deadline - stayingCalls[0]!.at);
    expect(stayingCalls[0]!.budgetMs).toBeLessThanOrEqual(deadline - handedBackAfter);
    expect(stayingCalls[0]!.budgetMs).toBeLessThan(budgetMs - heldMs);
    expect(done!.attemptsMade).toBeLessThanOrEqual(1);
    // The call the shutdown aborted is part of the job's story; a hand-back uses no attempt, so both share number 1.
    expect(done!.returnvalue.attempts.map((a: Attempt) => [a.outcome, a.attempt])).toEqual([
      ['aborted', 1],
      ['success', 1],
    ]);
  });
});
