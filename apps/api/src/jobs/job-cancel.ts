/**
 * Owns cancelling a job on a client's request (DELETE /v1/jobs/:id, a client that hangs up on the
 * OpenAI facade):
 * - final already: nothing changes;
 * - queued (waiting, prioritized, delayed for a retry): the cancel mark is set, the job is removed
 *   so it never runs, and a `cancelled` completion is published so every waiter wakes;
 * - active: the cancel mark is set and the id published on the cancel channel; the worker running
 *   it aborts its provider calls and fails it as `aborted` / "cancelled by client".
 * The mark is set before the job is inspected again, so a worker that takes the job in between
 * refuses to start it.
 */
import {
  cancelChannel,
  cancelKey,
  encodeJobDone,
  type JobDoneMessage,
  type JobEvent,
  type JobView,
  jobDoneChannel,
  jobEventsChannel,
  type RedisClient,
} from '@switchyard/shared';
import { ANNOUNCED_RECHECK_MS, CLIENT_CANCEL_MESSAGE, isJobId, type JobService } from './job-service.ts';
import { ANONYMOUS_OWNER, type JobViewer, maySee } from './ownership.ts';

export interface CancelOutcome {
  /** The job's view after the cancel: final, or still `active` while its worker winds down. */
  view: JobView;
  /** False when the job was already final (nothing was done). */
  requested: boolean;
}

export interface CancelDeps {
  jobs: JobService;
  redis: RedisClient;
  namespace: string;
  /** Seconds the cancel mark stays (a removed job reads as `cancelled` that long). */
  markTtlS: number;
}

const QUEUED_STATES = new Set(['waiting', 'prioritized', 'delayed', 'waiting-children', 'wait', 'paused']);

/**
 * Cancels job `id` for `viewer`; null when no such job exists or it belongs to another client
 * (nothing is touched then). Waits up to `settleMs` for an active job's worker to confirm, so the
 * answer is usually final already.
 */
export async function cancelJob(deps: CancelDeps, viewer: JobViewer, id: string, settleMs = 1500): Promise<CancelOutcome | null> {
  const { jobs, redis, namespace } = deps;
  if (!isJobId(id)) return null;
  const job = await jobs.queue.getJob(id);
  if (!job) {
    const view = await jobs.viewFor(viewer, id);
    return view ? { view, requested: false } : null;
  }
  if (!maySee(viewer, job.data.owner)) return null;
  const state = await job.getState();
  if (state === 'completed' || state === 'failed') {
    const view = await jobs.viewFor(viewer, id);
    return view ? { view, requested: false } : null;
  }

  // The mark holds the job's owner: once a queued job is removed, it is all that says whose it was.
  await redis.set(cancelKey(namespace, id), job.data.owner ?? ANONYMOUS_OWNER, 'EX', deps.markTtlS);
  if (QUEUED_STATES.has(state)) {
    const removed = await job.remove().then(
      () => true,
      () => false, // locked: a worker took it in between; it sees the mark or the cancel message
    );
    if (removed) {
      await publishCancelled(redis, namespace, id);
      return {
        view: { id, status: 'cancelled', model: job.data.model, created_at: new Date(job.timestamp).toISOString() },
        requested: true,
      };
    }
  }

  const deadline = Date.now() + settleMs;
  // The cancel message also asks the worker for the completion message, even for a job that
  // completes before the abort reaches it.
  const waiter = jobs.waiter(id, deadline, undefined, ANNOUNCED_RECHECK_MS);
  await redis.publish(cancelChannel(namespace), id);
  const done = await jobs.awaitFinal(id, waiter, deadline);
  const view = (await jobs.viewFor(viewer, id)) ?? { id, status: done?.status ?? 'cancelled' };
  return { view, requested: true };
}

async function publishCancelled(redis: RedisClient, namespace: string, id: string): Promise<void> {
  const message: JobDoneMessage = { id, status: 'cancelled', error: { class: 'aborted', message: CLIENT_CANCEL_MESSAGE } };
  const event: JobEvent = { type: 'state', status: 'cancelled', at: Date.now() };
  await Promise.all([
    redis.publish(jobDoneChannel(namespace), encodeJobDone(message)),
    redis.publish(jobEventsChannel(namespace, id), JSON.stringify(event)),
  ]);
}
