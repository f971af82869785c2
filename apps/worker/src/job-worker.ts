/**
 * Owns the BullMQ side of a worker replica: takes jobs with WORKER_CONCURRENCY, runs each through
 * the JobRunner with an AbortController of its own, turns failures into BullMQ's retry or
 * UnrecoverableError, publishes final states, aborts jobs their clients cancel, and drains on
 * shutdown within a deadline (jobs still running then are put back on the queue, not failed).
 * An attempt that goes back to the queue leaves its calls with the job, so the final error tells
 * the job's whole story (job-story.ts).
 */

import {
  type AbortSignalLike,
  type Attempt,
  type Config,
  cancelKey,
  JOB_ERROR_MARKER,
  type JobError,
  type JobResult,
  LightAbortController,
  type Logger,
  QUEUE_NAME,
  type QueuedJobData,
  queuePrefix,
  type RedisClient,
} from '@switchyard/shared';
import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';
import type { JobEventPublisher } from './job-events.ts';
import { isJobFailure, JobFailure, type JobRunner } from './job-runner.ts';
import { JobSignals, type JobSignalsOptions } from './job-signals.ts';
import { numbered, tellStory } from './job-story.ts';
import type { UsageReporter } from './usage-reporter.ts';

export interface JobWorkerDeps {
  config: Config;
  logger: Logger;
  /** Blocking connection for BullMQ (maxRetriesPerRequest: null). */
  connection: RedisClient;
  /** Connection for commands and publishing. */
  commands: RedisClient;
  /** Dedicated connection for the cancel and watch subscriptions. */
  subscriber: RedisClient;
  runner: JobRunner;
  events: JobEventPublisher;
  workerId: string;
  /** Tuning of the cancel/watch memory (tests: clockSkewMs). */
  signals?: JobSignalsOptions;
  /** Counts each completed job's usage and spend (usage-reporter.ts); absent: not counted. */
  usage?: UsageReporter;
}

const SHUTDOWN = 'shutdown';
const CLIENT_CANCEL = 'cancelled by client';

export class JobWorker {
  readonly worker: Worker<QueuedJobData, JobResult>;
  private readonly active = new Map<string, LightAbortController>();
  private readonly namespace: string;
  private readonly signals: JobSignals;

  constructor(private readonly deps: JobWorkerDeps) {
    this.namespace = deps.config.SWITCHYARD_NAMESPACE;
    this.signals = new JobSignals(deps.subscriber, this.namespace, deps.signals);
    this.worker = new Worker<QueuedJobData, JobResult>(QUEUE_NAME, (job, token) => this.process(job, token), {
      connection: deps.connection,
      prefix: queuePrefix(this.namespace),
      concurrency: deps.config.WORKER_CONCURRENCY,
      autorun: false,
      // At-least-once: a killed worker's lock lapses within lockDuration (renewed every half of it)
      // and the next stalled check of any live worker puts its jobs back, so they resume within
      // ~12 s. Shorter locks would risk taking jobs from a worker that is only slow.
      lockDuration: 10_000,
      stalledInterval: 2_000,
      maxStalledCount: 2,
      // No skipVersionCheck: without the server's version BullMQ assumes one that cannot block for
      // a fraction of a second, rounds every wait up to whole seconds, and a retry due after its
      // 300 ms backoff starts ~1 s late.
      name: deps.workerId,
    });
    this.worker.on('completed', (job, result) => {
      if (this.mayBeAwaited(job)) deps.events.done({ id: job.id as string, status: 'completed', result });
    });
    this.worker.on('failed', (job, err) => {
      if (!job || err instanceof DelayedError || err.name === 'DelayedError') return;
      const final = err instanceof UnrecoverableError || err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
      if (!final) return;
      const jobError = decodeFailure(err.message);
      const cancelled = jobError.class === 'aborted' && jobError.message === CLIENT_CANCEL;
      deps.events.done({ id: job.id as string, status: cancelled ? 'cancelled' : 'failed', error: jobError });
    });
    this.worker.on('error', (err) => deps.logger.warn({ err: { message: err.message } }, 'worker connection error'));
    this.signals.onCancel((jobId) => this.active.get(jobId)?.abort(CLIENT_CANCEL));
  }

  /**
   * Whether a request may be waiting for this completed job's message. Failures are always
   * announced (they are rare, and a cancel waits for them); most completions have nobody waiting,
   * and each message would reach every API process.
   */
  private mayBeAwaited(job: Job<QueuedJobData, JobResult>): boolean {
    const jobId = job.id as string;
    return (
      job.data.notify === true ||
      job.data.stream ||
      this.signals.awaited(jobId) ||
      this.signals.cancelled(jobId) ||
      this.signals.mayHaveMissed(job.timestamp)
    );
  }

  get activeCount(): number {
    return this.active.size;
  }

  async start(): Promise<void> {
    await this.signals.start();
    void this.worker.run().catch((err: Error) => this.deps.logger.error({ err: { message: err.message } }, 'worker stopped'));
    await this.worker.waitUntilReady();
  }

  private async process(job: Job<QueuedJobData, JobResult>, token: string | undefined): Promise<JobResult> {
    const jobId = job.id as string;
    const log = this.deps.logger.child({ jobId });
    // Only a job whose signals may have gone by while we were not subscribed costs a round trip.
    const unsure = this.signals.mayHaveMissed(job.timestamp);
    if (this.signals.cancelled(jobId) || (unsure && (await this.deps.commands.exists(cancelKey(this.namespace, jobId)).catch(() => 0)))) {
      // Cancelled while waiting for a retry: the calls of its earlier attempts are still its story.
      const earlier = job.data.earlier_attempts;
      throw new UnrecoverableError(encodeFailure({ class: 'aborted', message: CLIENT_CANCEL, ...(earlier ? { attempts: earlier } : {}) }));
    }
    const controller = new LightAbortController();
    this.active.set(jobId, controller);
    const started = Date.now();
    // 1-based; a shutdown hand-back uses no attempt, so its calls share the next run's number.
    const attempt = job.attemptsMade + 1;
    // One budget for the whole job: a queue-level retry continues the first attempt's clock.
    const deadlineAt = job.data.budget_deadline_at ?? (job.processedOn ?? started) + job.data.budget_ms;
    // State events go out only when someone may be listening: a streaming job, a watched one, or
    // one old enough that a watch may have gone by unseen.
    const publishEvents = job.data.stream || unsure || this.signals.watched(jobId);
    if (publishEvents) this.deps.events.event(jobId, { type: 'state', status: 'active', at: started });
    log.debug({ model: job.data.model, attempt, sinceActiveMs: started - (job.processedOn ?? started) }, 'job started');
    let tokenIndex = 0;
    try {
      let result = await this.deps.runner.run({
        jobId,
        data: job.data,
        signal: controller.signal,
        deadlineAt,
        logger: log,
        ...(job.data.stream
          ? { onToken: (delta: string) => this.deps.events.event(jobId, { type: 'token', delta, index: tokenIndex++ }) }
          : {}),
      });
      // Only a job retried before carries earlier calls: the calls that failed first belong to its result too.
      const earlier = job.data.earlier_attempts;
      if (earlier?.length) result = { ...result, attempts: [...earlier, ...numbered(result.attempts, attempt)] };
      log.info(
        { provider: result.provider, model: result.model, latencyMs: Date.now() - started, attempts: result.attempts.length },
        'job completed',
      );
      // Usage and spend (CONTRACT.md "Usage, spend and client budgets"): counted before the job is
      // seen complete (bounded wait, never fails the job), so budgets at intake see it.
      await this.deps.usage?.completed(jobId, job.data, result);
      if (publishEvents || this.signals.watched(jobId))
        this.deps.events.event(jobId, { type: 'state', status: 'completed', at: Date.now() });
      return result;
    } catch (err) {
      if (controller.signal.aborted && controller.signal.reason === SHUTDOWN && token) {
        // Our own shutdown is not the job's fault: hand it back to the queue without using an
        // attempt, but not with a fresh budget: the worker that takes it next continues this one.
        const calls = isJobFailure(err) ? numbered(err.jobError.attempts, attempt) : [];
        await recordForNextAttempt(job, deadlineAt, [...(job.data.earlier_attempts ?? []), ...calls], log);
        await job.moveToDelayed(Date.now(), token);
        log.info('job handed back to the queue on shutdown');
        throw new DelayedError();
      }
      const failure = toFailure(err, controller.signal);
      const outOfBudget = Date.now() >= deadlineAt;
      const lastAttempt = attempt >= (job.opts.attempts ?? 1);
      const story = tellStory({
        error: failure.jobError,
        attempt,
        earlier: job.data.earlier_attempts,
        budgetMs: job.data.budget_ms,
        budgetSpent: outOfBudget && !failure.permanent && !lastAttempt,
      });
      log.warn({ provider: story.provider, errorClass: story.class, permanent: failure.permanent, attempt }, 'job attempt failed');
      const final = failure.permanent || outOfBudget || lastAttempt;
      if (final) {
        const status = story.message === CLIENT_CANCEL ? 'cancelled' : 'failed';
        if (publishEvents || this.signals.watched(jobId)) this.deps.events.event(jobId, { type: 'state', status, at: Date.now() });
      } else {
        await recordForNextAttempt(job, deadlineAt, story.attempts ?? [], log);
      }
      const message = encodeFailure(story);
      throw failure.permanent || outOfBudget ? new UnrecoverableError(message) : new Error(message);
    } finally {
      this.active.delete(jobId);
    }
  }

  /** Stops taking jobs, waits up to `deadlineMs` for in-flight ones, then aborts the rest. */
  async close(deadlineMs: number): Promise<void> {
    const closing = this.worker.close();
    const timer = setTimeout(() => {
      for (const controller of this.active.values()) controller.abort(SHUTDOWN);
    }, deadlineMs);
    try {
      await closing;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Stores with the job what its next attempt, on whichever worker, must find: the budget deadline
 * and every call made so far (numbered). Written only when another attempt follows (a retry, a
 * shutdown hand-back: the rare paths), so a job that succeeds costs no extra command. The calls
 * live in the job's data, so they expire with the job and reach only those who may read it.
 */
async function recordForNextAttempt(job: Job<QueuedJobData, JobResult>, deadlineAt: number, calls: Attempt[], log: Logger): Promise<void> {
  const known = job.data.earlier_attempts?.length ?? 0;
  if (job.data.budget_deadline_at !== undefined && calls.length === known) return;
  const data: QueuedJobData = { ...job.data, budget_deadline_at: job.data.budget_deadline_at ?? deadlineAt };
  if (calls.length > 0) data.earlier_attempts = calls;
  await job.updateData(data).catch((err: Error) => {
    log.warn(
      { err: { message: err.message } },
      'could not record the budget deadline and calls; the next attempt gets a fresh budget and the final error lacks these calls',
    );
  });
}

function toFailure(err: unknown, signal: AbortSignalLike): JobFailure {
  if (isJobFailure(err)) {
    if (signal.aborted && signal.reason === CLIENT_CANCEL) {
      return new JobFailure({ ...err.jobError, class: 'aborted', message: CLIENT_CANCEL }, true);
    }
    return err;
  }
  if (signal.aborted && signal.reason === CLIENT_CANCEL) return new JobFailure({ class: 'aborted', message: CLIENT_CANCEL }, true);
  const message = err instanceof Error ? err.message : String(err);
  return new JobFailure({ class: 'service_unavailable', message: `worker error: ${message}` }, false);
}

export function encodeFailure(error: JobError): string {
  return `${JOB_ERROR_MARKER}${JSON.stringify(error)}`;
}

function decodeFailure(message: string): JobError {
  if (message.startsWith(JOB_ERROR_MARKER)) {
    try {
      return JSON.parse(message.slice(JOB_ERROR_MARKER.length)) as JobError;
    } catch {
      // fall through
    }
  }
  return { class: 'service_unavailable', message };
}
