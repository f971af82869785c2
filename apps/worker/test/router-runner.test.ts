/**
 * RouterRunner hands the router what the job asked for: candidates (model, then fallbacks, without
 * repeats) and the sampling and length settings, each under the adapters' names.
 */
import { LightAbortController, type QueuedJobData } from '@switchyard/shared';
import { describe, expect, it } from 'vitest';
import type { Router } from '../src/router/router.ts';
import type { RouteJob } from '../src/router/types.ts';
import { RouterRunner } from '../src/router-runner.ts';

function capturingRouter(seen: RouteJob[]): Router {
  return {
    async route(job: RouteJob) {
      seen.push(job);
      return {
        provider: 'mock',
        model: 'echo',
        content: 'ok',
        finish_reason: 'stop',
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
        latency_ms: 1,
        attempts: [],
      };
    },
  } as unknown as Router;
}

const data = (request: QueuedJobData['request']): QueuedJobData => ({
  request,
  model: request.model ?? 'mock/echo',
  budget_ms: 10_000,
  submitted_at: Date.now(),
  stream: false,
});

describe('RouterRunner', () => {
  it('passes max_tokens, temperature and top_p to the router as the adapters name them', async () => {
    const seen: RouteJob[] = [];
    const runner = new RouterRunner(capturingRouter(seen));
    const messages = [{ role: 'user' as const, content: 'hi' }];
    await runner.run({
      jobId: 'j1',
      data: data({ model: 'mock/echo', fallbacks: ['mock/other', 'mock/echo'], messages, max_tokens: 32, temperature: 0.3, top_p: 0.7 }),
      signal: new LightAbortController().signal,
    });
    expect(seen[0]?.candidates).toEqual(['mock/echo', 'mock/other']);
    expect(seen[0]?.request).toEqual({ messages, maxTokens: 32, temperature: 0.3, topP: 0.7 });

    await runner.run({ jobId: 'j2', data: data({ model: 'mock/echo', messages }), signal: new LightAbortController().signal });
    expect(seen[1]?.request).toEqual({ messages });
  });
});
