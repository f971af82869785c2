/**
 * Owns waiting for one facade job on a plain (not streamed) request, whatever the face (chat
 * completions, responses): the completion waiter is registered before the job is added, so no read
 * is needed to catch it; a job found by its Idempotency-Key is read back or waited for with an
 * announcement. A wait that runs out cancels the job and is a 504; a client that hangs up cancels
 * it and gets nothing. A failed job becomes the error OpenAI clients expect, with a retry-after
 * read from the fleet's state.
 */
import { type Config, type JobDoneMessage, type JobRequest, LightAbortController } from '@switchyard/shared';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { cancelJob } from '../jobs/job-cancel.ts';
import { isFinal, viewToDone } from '../jobs/job-service.ts';
import { jobErrorToOpenAi, jobTimeoutError, type OpenAiError } from './errors.ts';
import type { JobStreamInput } from './job-stream.ts';
import { retryAfterSeconds } from './retry-after.ts';

/**
 * How long a request waits for its job: its one budget (queue-level retries and their backoff
 * spend the same budget: apps/worker/src/job-worker.ts), plus slack for waiting in the queue.
 */
export function waitBudgetMs(job: JobRequest, config: Config): number {
  return Math.min(900_000, (job.budget_ms ?? config.JOB_BUDGET_MS) + 60_000);
}

/**
 * Submits the job and waits for its final state. Null when the client hung up (the reply has been
 * taken over and destroyed: return it as it is); throws a 504 when the wait runs out.
 */
export async function submitAndWait(app: FastifyInstance, reply: FastifyReply, input: JobStreamInput): Promise<JobDoneMessage | null> {
  const { jobs, redis, config } = app.ctx;
  const { jobId: id, deadlineAt, idempotencyKey } = input;
  const closed = new LightAbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) closed.abort();
  });
  let waiter = jobs.waiter(id, deadlineAt, closed.signal);
  let done: JobDoneMessage | null;
  try {
    const submitted = await jobs.submit(input.job, {
      id,
      clientId: input.clientId,
      viewer: input.viewer,
      notify: true,
      ...(idempotencyKey ? { idempotencyKey } : {}),
    });
    const existing = submitted.existing ? await jobs.view(id) : null;
    if (existing && isFinal(existing.status)) done = viewToDone(existing);
    else {
      // Found by its key: submitted earlier, maybe without notify, so this wait announces itself.
      if (existing) waiter = await jobs.announcedWaiter(waiter, id, deadlineAt, closed.signal);
      done = await jobs.awaitFinal(id, waiter, deadlineAt, closed.signal);
    }
  } finally {
    waiter.cancel();
  }
  if (done) return done;
  const deps = { jobs, redis, namespace: config.SWITCHYARD_NAMESPACE, markTtlS: config.FAILED_TTL_S };
  cancelJob(deps, input.viewer, id, 0).catch(() => {});
  if (closed.signal.aborted) {
    reply.hijack(); // the client hung up: nobody is left to answer
    reply.raw.destroy();
    return null;
  }
  throw jobTimeoutError();
}

/** A job that did not complete, as the error an OpenAI client expects (status, code, retry-after). */
export async function jobFailure(app: FastifyInstance, done: JobDoneMessage): Promise<OpenAiError> {
  const error = done.error ?? { class: 'service_unavailable' as const, message: `job ${done.status} without an error` };
  return jobErrorToOpenAi(error, await retryAfterSeconds(app.ctx.state, app.ctx.models.deployments(), error));
}
