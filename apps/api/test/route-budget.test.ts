/**
 * A route's own `budget_ms` (CONTRACT.md, "Routes and deployments") becomes the budget of the jobs
 * that name it, and of those that name no model when it is the default route; a job's own
 * `budget_ms` wins; a route without one, or a `<deployment>/<model>` ref, gets JOB_BUDGET_MS. Through
 * the real API on a real Redis, reading what the queued job carries to its worker.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'sy-route-budget-'));
const file = join(dir, 'fleet.yaml');
const JOB_BUDGET_MS = 30_000;

let api: TestApi;

beforeAll(async () => {
  writeFileSync(
    file,
    `deployments:
  - { id: mock-a, provider: mock }
routes:
  - { name: patient, budget_ms: 45000, targets: [ { deployment: mock-a, model: echo } ] }
  - { name: plain, targets: [ { deployment: mock-a, model: echo } ] }
default_route: patient
`,
  );
  api = await startTestApi({ SWITCHYARD_CONFIG: file, JOB_BUDGET_MS: String(JOB_BUDGET_MS), RATE_LIMIT_RPM: '0' });
});
afterAll(async () => {
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function queuedBudget(body: Record<string, unknown>): Promise<{ model: string; budget: number | undefined }> {
  const res = await api.app.inject({
    method: 'POST',
    url: '/v1/jobs',
    payload: { messages: [{ role: 'user', content: 'hi' }], ...body },
  });
  expect(res.statusCode, res.body).toBe(202);
  const job = await api.ctx.jobs.queue.getJob(res.json().id);
  return { model: String(job?.data.model), budget: job?.data.budget_ms };
}

describe("a route's budget_ms", () => {
  it('is the budget of its jobs and of jobs that name no model when it is the default route; a job’s own wins', async () => {
    expect(await queuedBudget({ model: 'patient' })).toEqual({ model: 'patient', budget: 45_000 });
    expect(await queuedBudget({})).toEqual({ model: 'patient', budget: 45_000 });
    expect(await queuedBudget({ model: 'patient', budget_ms: 2_000 })).toEqual({ model: 'patient', budget: 2_000 });
    expect(await queuedBudget({ model: 'plain' })).toEqual({ model: 'plain', budget: JOB_BUDGET_MS });
    expect(await queuedBudget({ model: 'mock-a/echo' })).toEqual({ model: 'mock-a/echo', budget: JOB_BUDGET_MS });
  });
});
