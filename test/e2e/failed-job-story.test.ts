/**
 * A failed job tells its whole story (CONTRACT.md, "A failed job's error"), on real processes: the
 * API and a worker on the real Redis, the `mock` provider served over HTTP by the fault-injecting
 * mock server, whose exact per-model counters say which calls really reached it.
 *
 * The case a user reported: `budget_ms: 2000` against a provider answering 503 after 300 ms ended
 * `aborted` with "job budget of 31 ms exhausted; 1 call(s) aborted": 5 calls made, 2 listed, the
 * 503s gone. Here it must end `budget_exhausted`, name the last 503, and list every call the mock
 * received with its queue-level attempt number, in GET /v1/jobs/:id, in the job's events, and in
 * the OpenAI facade's errors (chat completions and the Responses API, streamed or not). Beside it:
 * a cancelled job stays `cancelled`, and calls we aborted ourselves (a budget, a hedge that lost)
 * are never taken for the job's last error.
 *
 * JOB_ATTEMPTS is the default (3). JOB_BACKOFF_MS is 100 (default 1,000) so that the second
 * queue-level attempt starts well inside the budget and makes calls of its own: the first attempt
 * spends ~1.2 s on three 503s (a call and two same-provider retries). The breaker threshold is out
 * of reach: these scenarios are about the story, not about the circuit opening.
 */
import { type MockServer, startMockServer } from '@switchyard/providers/mock-server';
import type { Attempt, JobView } from '@switchyard/shared';
import { deleteNamespace, testNamespace, testRedisUrl, waitFor } from '@switchyard/shared/testing';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertOpenAi } from '../../apps/api/test/support/openai-spec.ts';
import { parseSse } from '../../packages/cli/src/sse.ts';
import { type Fleet, postJson, startFleet } from '../support/processes.ts';

const BUDGET_MS = 2000;
const namespace = testNamespace('story');
let mock: MockServer;
let fleet: Fleet;

beforeAll(async () => {
  mock = await startMockServer();
  fleet = await startFleet({
    namespace,
    workers: 1,
    env: {
      MOCK_PROVIDER: 'true',
      MOCK_PROVIDER_URL: mock.env().MOCK_PROVIDER_URL as string,
      RATE_LIMIT_RPM: '0',
      JOB_BUDGET_MS: String(BUDGET_MS),
      JOB_BACKOFF_MS: '100',
      HEDGE_DELAY_MS: '300',
      CIRCUIT_FAILURE_THRESHOLD: '10000',
    },
  });
  // The worker's first HTTP call to the mock pays for the connection; pay it before the scenarios.
  const warm = await submit({ model: 'mock/warm-up', messages: user('warm up') });
  expect((await finalView(warm)).status).toBe('completed');
}, 120_000);
afterAll(async () => {
  await fleet?.stop();
  await mock?.close();
  await deleteNamespace(testRedisUrl(), namespace);
});
beforeEach(() => {
  mock.clearFaults();
});

const user = (content: string) => [{ role: 'user', content }];

async function submit(body: Record<string, unknown>): Promise<string> {
  const res = await postJson(`${fleet.apiUrl}/v1/jobs`, body);
  if (res.status !== 202) throw new Error(`submit: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

async function finalView(id: string): Promise<JobView> {
  return waitFor(
    async () => {
      const view = (await (await fetch(`${fleet.apiUrl}/v1/jobs/${id}?wait_ms=5000`)).json()) as JobView;
      return view.status === 'failed' || view.status === 'completed' || view.status === 'cancelled' ? view : null;
    },
    `job ${id} to finish`,
    30_000,
    50,
  );
}

/** The job's events (GET /v1/jobs/:id/events) until the stream ends with the final state, read as the CLI reads them. */
async function events(id: string): Promise<Array<{ event: string; data: Record<string, unknown> }>> {
  const res = await fetch(`${fleet.apiUrl}/v1/jobs/${id}/events`);
  const out: Array<{ event: string; data: Record<string, unknown> }> = [];
  for await (const frame of parseSse(res.body as ReadableStream<Uint8Array>)) {
    out.push({ event: frame.event, data: JSON.parse(frame.data) as Record<string, unknown> });
  }
  return out;
}

/** The mock server's counters for `mock/<model>`, once no call to it is open any more. */
async function settledCalls(model: string) {
  return waitFor(
    () => {
      const counters = mock.stats().byModel[`mock/${model}`];
      return counters && counters.inFlight === 0 ? counters : null;
    },
    `every call to mock/${model} to end`,
    10_000,
    20,
  );
}

/** Every call carries its queue-level attempt; the list runs in attempt order, then start order. */
function expectInOrder(attempts: readonly Attempt[]): void {
  for (const [i, call] of attempts.entries()) {
    expect(call.attempt, `call ${i} has its attempt number`).toBeGreaterThanOrEqual(1);
    const before = attempts[i - 1];
    if (!before) continue;
    expect(call.attempt as number).toBeGreaterThanOrEqual(before.attempt as number);
    if (call.attempt === before.attempt) expect(call.started_ms).toBeGreaterThanOrEqual(before.started_ms);
  }
}

interface LogLine {
  jobId?: string;
  msg?: string;
  calls?: number;
  attempt?: number;
}

function jobLines(id: string): LogLine[] {
  return fleet.workers.flatMap((w) => w.lines.map((l) => JSON.parse(l) as LogLine)).filter((l) => l.jobId === id);
}

/**
 * How many calls each queue-level attempt made, from the worker's own lines: the router's verdict
 * (`router.job.failed`, with its call count) comes before the attempt's `job attempt failed`; an
 * attempt that found its budget spent never reached the router. Attempts without calls are left out.
 */
function callsPerAttempt(id: string): Record<number, number> {
  const counts: Record<number, number> = {};
  let pending = 0;
  for (const line of jobLines(id)) {
    if (line.msg === 'router.job.failed') pending = line.calls ?? 0;
    if (line.msg === 'job attempt failed') {
      if (pending > 0) counts[line.attempt as number] = pending;
      pending = 0;
    }
  }
  return counts;
}

function lastAttemptOf(id: string): number | undefined {
  return jobLines(id)
    .filter((l) => l.msg === 'job attempt failed')
    .at(-1)?.attempt;
}

function countBy(attempts: readonly Attempt[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const a of attempts) counts[a.attempt as number] = (counts[a.attempt as number] ?? 0) + 1;
  return counts;
}

const count = (attempts: readonly Attempt[], outcome: Attempt['outcome']) => attempts.filter((a) => a.outcome === outcome).length;

describe("a failed job's whole story", () => {
  it('budget_ms 2000 against 503s after 300 ms: budget_exhausted, the last 503 named, every call of every attempt listed', async () => {
    const model = 'flaky';
    mock.setFaults([{ provider: 'mock', model, fault: 'status=503;latency=300' }]);
    const id = await submit({ model: `mock/${model}`, messages: user('the story'), budget_ms: BUDGET_MS });
    const followed = events(id);
    const view = await finalView(id);
    const calls = await settledCalls(model);

    expect(view.status).toBe('failed');
    const error = view.error!;
    expect(error.class).toBe('budget_exhausted');
    const attempts = error.attempts ?? [];
    // Every call the mock server received is listed (a call aborted before it got there may be listed too).
    expect(attempts.length).toBeGreaterThanOrEqual(calls.received);
    // A 503 is listed only if the mock answered it, and every answer it gave is listed as a 503 or
    // as a call the budget aborted while the answer was on its way.
    expect(count(attempts, 'service_unavailable')).toBeLessThanOrEqual(calls.completed);
    expect(count(attempts, 'service_unavailable') + count(attempts, 'aborted')).toBeGreaterThanOrEqual(calls.completed);
    expect(attempts.every((a) => a.outcome === 'service_unavailable' || a.outcome === 'aborted')).toBe(true);
    expectInOrder(attempts);
    // Each queue-level attempt's calls, as its worker logged them, are in the story under its number.
    const perAttempt = callsPerAttempt(id);
    expect(countBy(attempts)).toEqual(perAttempt);
    // A later attempt ended the job, and the first attempt's 503s are not lost with it.
    expect(lastAttemptOf(id)).toBeGreaterThanOrEqual(2);
    expect(attempts.filter((a) => a.attempt === 1 && a.outcome === 'service_unavailable').length).toBeGreaterThanOrEqual(2);

    expect(error.last_error).toMatchObject({ class: 'service_unavailable', provider: 'mock' });
    expect(error.last_error?.message).toMatch(/503|unavailable/i);
    const lastFailure = attempts.filter((a) => a.outcome === 'service_unavailable').at(-1);
    expect(error.last_error?.message).toBe(lastFailure?.message);
    expect(error.message).toBe(
      `budget of ${BUDGET_MS} ms exhausted after ${attempts.length} calls; last error: service_unavailable from mock: ${error.last_error?.message}`,
    );

    // The same story in the job's events: the final state carries the same error.
    const stream = await followed;
    const last = stream.at(-1);
    expect(last?.event).toBe('state');
    expect(last?.data.status).toBe('failed');
    expect(last?.data.error).toEqual(error);
  });

  it('the OpenAI facade: 504 budget_exhausted, and the message names the last error', async () => {
    const model = 'flaky-chat';
    mock.setFaults([{ provider: 'mock', model, fault: 'status=503;latency=300' }]);
    const client = new OpenAI({ baseURL: `${fleet.apiUrl}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60_000 });
    const failure = await client.chat.completions.create({ model: `mock/${model}`, messages: [{ role: 'user', content: 'hi' }] }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    const err = failure as InstanceType<typeof OpenAI.APIError>;
    // 504: a gateway that got no timely answer upstream; the SDKs raise InternalServerError and retry it.
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect(err.status).toBe(504);
    expect(err.code).toBe('budget_exhausted');
    assertOpenAi('ErrorResponse', { error: err.error });
    expect(err.message).toMatch(
      new RegExp(
        `budget of ${BUDGET_MS} ms exhausted after \\d+ calls; last error: service_unavailable from mock: .*(503|unavailable)`,
        'i',
      ),
    );
    expect(err.message).not.toMatch(/\baborted\b/);
  });

  it('the Responses API and both faces streaming tell the same story: 504 budget_exhausted naming the last error', async () => {
    const client = new OpenAI({ baseURL: `${fleet.apiUrl}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60_000 });
    const faces: Record<string, (model: string) => Promise<unknown>> = {
      responses: (model) => client.responses.create({ model, input: 'hi' }),
      'responses, streamed': async (model) => {
        for await (const _ of await client.responses.create({ model, input: 'hi', stream: true })) {
          // A stream that opened would carry the story in response.failed; with a budget shorter than
          // the first byte's wait it never opens and the story is the HTTP error.
        }
      },
      'chat completions, streamed': async (model) => {
        for await (const _ of await client.chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: 'hi' }] })) {
          // as above
        }
      },
    };
    const names = Object.keys(faces);
    mock.setFaults(names.map((_, i) => ({ provider: 'mock', model: `flaky-face-${i}`, fault: 'status=503;latency=300' })));
    const failures = await Promise.all(
      names.map((name, i) =>
        (faces[name] as (model: string) => Promise<unknown>)(`mock/flaky-face-${i}`).then(
          () => null,
          (err: unknown) => err,
        ),
      ),
    );
    for (const [i, failure] of failures.entries()) {
      const face = names[i];
      expect(failure, face).toBeInstanceOf(OpenAI.InternalServerError);
      const err = failure as InstanceType<typeof OpenAI.APIError>;
      expect(err.status, face).toBe(504);
      expect(err.code, face).toBe('budget_exhausted');
      expect(err.message, face).toMatch(
        new RegExp(
          `budget of ${BUDGET_MS} ms exhausted after \\d+ calls; last error: service_unavailable from mock: .*(503|unavailable)`,
          'i',
        ),
      );
      expect(err.message, face).not.toMatch(/\baborted\b/);
    }
  });

  it('a job cancelled by its client stays cancelled, with its calls and the 503 before the cancel', async () => {
    const model = 'cancel-me';
    mock.setFaults([
      { provider: 'mock', model, fault: 'status=503;latency=300', count: 1 },
      { provider: 'mock', model, fault: 'hang' },
    ]);
    const id = await submit({ model: `mock/${model}`, messages: user('cancel me'), budget_ms: 20_000 });
    // The 503, then the same-provider retry that hangs.
    await waitFor(() => (mock.stats().byModel[`mock/${model}`]?.received ?? 0) >= 2, 'the retry to reach the mock', 10_000, 10);
    const res = await fetch(`${fleet.apiUrl}/v1/jobs/${id}`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    const view = await finalView(id);
    await settledCalls(model);

    expect(view.status).toBe('cancelled');
    expect(view.error).toMatchObject({ class: 'aborted', message: 'cancelled by client' });
    expect(view.error?.attempts).toMatchObject([
      { provider: 'mock', model, outcome: 'service_unavailable', attempt: 1 },
      { provider: 'mock', model, outcome: 'aborted', attempt: 1, message: 'aborted: the job was cancelled' },
    ]);
    expect(view.error?.last_error).toMatchObject({ class: 'service_unavailable', provider: 'mock' });
  });

  it('a budget that ends a primary and its hedge: budget_exhausted, no last error invented from our own aborts', async () => {
    mock.setFaults([{ provider: 'mock', model: 'slow-*', fault: 'latency=5000' }]);
    const budgetMs = 1500;
    const id = await submit({ model: 'mock/slow-a', fallbacks: ['mock/slow-b'], messages: user('slow'), budget_ms: budgetMs });
    const view = await finalView(id);

    expect(view.status).toBe('failed');
    expect(view.error?.class).toBe('budget_exhausted');
    expect(view.error?.attempts).toMatchObject([
      { model: 'slow-a', outcome: 'aborted', hedge: false, attempt: 1 },
      { model: 'slow-b', outcome: 'aborted', hedge: true, attempt: 1 },
    ]);
    expect(view.error?.last_error).toBeUndefined();
    expect(view.error?.message).toBe(`budget of ${budgetMs} ms exhausted after 2 calls`);
  });

  it('a stream that broke after its hedge won: the last error is the broken stream, never the aborted loser', async () => {
    mock.setFaults([
      { provider: 'mock', model: 'stream-slow', fault: 'latency=5000' },
      { provider: 'mock', model: 'stream-cut', fault: 'slow=50;cut=3' },
    ]);
    const id = await submit({
      model: 'mock/stream-slow',
      fallbacks: ['mock/stream-cut'],
      messages: user('one two three four five six seven eight'),
      stream: true,
      budget_ms: 10_000,
    });
    const view = await finalView(id);

    expect(view.status).toBe('failed');
    const error = view.error!;
    expect(error.attempts).toMatchObject([
      { model: 'stream-slow', outcome: 'aborted', hedge: false, attempt: 1, message: 'aborted: another call of the job won' },
      { model: 'stream-cut', hedge: true, attempt: 1 },
    ]);
    const broken = error.attempts?.[1];
    expect(['aborted', 'success', 'budget_exhausted']).not.toContain(broken?.outcome);
    expect(error.class).toBe(broken?.outcome);
    expect(error.last_error).toEqual({ class: broken?.outcome, message: broken?.message, provider: 'mock', deployment: 'mock' });
  });
});
