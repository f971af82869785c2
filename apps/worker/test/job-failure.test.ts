import { describe, expect, it } from 'vitest';
import { isJobFailure, JobFailure } from '../src/job-runner.ts';

describe('isJobFailure', () => {
  it('recognises a JobFailure from a second copy of the module, where instanceof does not', async () => {
    // A query string makes the loader evaluate the file a second time, as a duplicated module would.
    const secondCopy = '../src/job-runner.ts?second-copy';
    const copy = (await import(secondCopy)) as typeof import('../src/job-runner.ts');
    expect(copy.JobFailure).not.toBe(JobFailure);
    const failure = new copy.JobFailure({ class: 'rate_limited', message: 'simulated' }, true);
    expect(failure instanceof JobFailure).toBe(false);
    expect(isJobFailure(failure)).toBe(true);
    expect(isJobFailure(new JobFailure({ class: 'bad_request', message: 'x' }, true))).toBe(true);
  });

  it('rejects plain errors and look-alikes', () => {
    expect(isJobFailure(new Error('boom'))).toBe(false);
    expect(isJobFailure({ jobError: { class: 'x', message: 'y' }, permanent: true })).toBe(false);
    expect(isJobFailure(null)).toBe(false);
    expect(isJobFailure('JobFailure')).toBe(false);
  });
});
