/**
 * Bridges a queued job to the router: builds the candidate list (model, then fallbacks) and the
 * provider request, and turns a RouterError into the JobFailure the queue layer understands.
 */
import type { QueuedJobData } from '@switchyard/shared';
import { JobFailure, type JobRunner, type RunInput } from './job-runner.ts';
import type { Router } from './router/router.ts';
import { isRouterError } from './router/router-error.ts';

export function candidatesOf(data: QueuedJobData): string[] {
  const all = [data.model, ...(data.request.fallbacks ?? [])];
  return all.filter((ref, i) => all.indexOf(ref) === i);
}

export class RouterRunner implements JobRunner {
  constructor(private readonly router: Router) {}

  async run({ jobId, data, signal, onToken }: RunInput) {
    const { request } = data;
    try {
      return await this.router.route({
        id: jobId,
        candidates: candidatesOf(data),
        request: {
          messages: request.messages,
          ...(request.max_tokens !== undefined ? { maxTokens: request.max_tokens } : {}),
          ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
        },
        budgetMs: data.budget_ms,
        signal,
        ...(onToken ? { onToken } : {}),
      });
    } catch (err) {
      if (isRouterError(err)) throw new JobFailure(err.jobError, err.permanent);
      throw err;
    }
  }
}
