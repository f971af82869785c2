/**
 * What a failed job says (job-story.ts), for the cases the end-to-end test cannot force: which
 * failure is the last one when calls overlap or come from different attempts, a job-level class
 * after real failures, a cancel's exact message, and error data stored by older workers.
 */
import type { Attempt, JobError } from '@switchyard/shared';
import { describe, expect, it } from 'vitest';
import { lastProviderError, tellStory } from '../src/job-story.ts';

const call = (outcome: Attempt['outcome'], started: number, latency: number, extra: Partial<Attempt> = {}): Attempt => ({
  provider: 'openai',
  model: 'm',
  outcome,
  started_ms: started,
  latency_ms: latency,
  hedge: false,
  ...(outcome === 'success' ? {} : { message: `${outcome} at ${started + latency}` }),
  ...extra,
});

describe('the last provider error', () => {
  it('is the failure that ended last, never one of our aborts or a success', () => {
    const attempts = [
      call('timeout', 0, 900, { provider: 'anthropic' }), // ends at 900
      call('service_unavailable', 100, 300, { hedge: true }), // ends at 400
      call('aborted', 950, 50),
      call('success', 960, 10),
    ];
    expect(lastProviderError(attempts)).toEqual({ class: 'timeout', message: 'timeout at 900', provider: 'anthropic' });
    expect(lastProviderError([call('aborted', 0, 10), call('success', 5, 10)])).toBeUndefined();
  });

  it('a later queue-level attempt wins over an earlier one, whatever their clocks say', () => {
    const attempts = [call('rate_limited', 1500, 10, { attempt: 1 }), call('network_error', 0, 5, { attempt: 2 })];
    expect(lastProviderError(attempts)?.class).toBe('network_error');
  });
});

describe('the story', () => {
  const earlier = [call('service_unavailable', 0, 300, { attempt: 1 })];

  it('a job-level class after real failures names the last of them', () => {
    const error: JobError = { class: 'no_provider_available', message: 'no provider available: openai/m: circuit open', attempts: [] };
    const story = tellStory({ error, attempt: 2, earlier, budgetMs: 5000, budgetSpent: false });
    expect(story.class).toBe('no_provider_available');
    expect(story.message).toBe(
      'no provider available: openai/m: circuit open; last error: service_unavailable from openai: service_unavailable at 300',
    );
    expect(story.attempts).toEqual(earlier);
  });

  it('a transient failure stopped by the spent budget is budget_exhausted; this attempt’s calls get its number', () => {
    const error: JobError = {
      class: 'service_unavailable',
      message: 'every candidate failed',
      attempts: [call('service_unavailable', 0, 300)],
    };
    const story = tellStory({ error, attempt: 2, earlier, budgetMs: 700, budgetSpent: true });
    expect(story.class).toBe('budget_exhausted');
    expect(story.attempts?.map((a) => a.attempt)).toEqual([1, 2]);
    expect(story.message).toBe(
      'budget of 700 ms exhausted after 2 calls; last error: service_unavailable from openai: service_unavailable at 300',
    );
  });

  it('a cancel keeps its class and exact message (callers match on them), and still lists its calls', () => {
    const error: JobError = { class: 'aborted', message: 'cancelled by client', attempts: [call('aborted', 0, 40)] };
    const story = tellStory({ error, attempt: 2, earlier, budgetMs: 5000, budgetSpent: true });
    expect(story).toMatchObject({ class: 'aborted', message: 'cancelled by client' });
    expect(story.attempts?.map((a) => [a.outcome, a.attempt])).toEqual([
      ['service_unavailable', 1],
      ['aborted', 2],
    ]);
    expect(story.last_error?.class).toBe('service_unavailable');
  });

  it('a failure like the last one keeps the router’s message, which names it already', () => {
    const error: JobError = { class: 'service_unavailable', message: 'every candidate failed: openai/m: service_unavailable; last: x' };
    expect(tellStory({ error, attempt: 2, earlier, budgetMs: 5000, budgetSpent: false }).message).toBe(error.message);
  });
});
