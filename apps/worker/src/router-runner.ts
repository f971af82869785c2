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

  async run({ jobId, data, signal, onToken, deadlineAt, logger }: RunInput) {
    const { request } = data;
    // What already went by since the job became active (the cancel check, a busy event loop, and
    // earlier attempts with their backoff) is spent budget: the job ends by its deadline.
    const spent = deadlineAt === undefined ? 0 : Math.min(Math.max(0, data.budget_ms - (deadlineAt - Date.now())), data.budget_ms);
    if (spent >= data.budget_ms) {
      throw new JobFailure(
        { class: 'budget_exhausted', message: `job budget of ${data.budget_ms} ms was spent by earlier attempts` },
        true,
      );
    }
    try {
      return await this.router.route({
        id: jobId,
        candidates: candidatesOf(data),
        request: {
          messages: request.messages,
          ...(request.max_tokens !== undefined ? { maxTokens: request.max_tokens } : {}),
          ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
          ...(request.top_p !== undefined ? { topP: request.top_p } : {}),
        },
        budgetMs: data.budget_ms - spent,
        signal,
        ...(onToken ? { onToken } : {}),
        ...(logger ? { logger } : {}),
      });
    } catch (err) {
      if (isRouterError(err)) throw new JobFailure(err.jobError, err.permanent);
      throw err;
    }
  }
}
