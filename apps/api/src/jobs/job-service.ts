/**
 * Owns the API's side of a job's life on the queue: submission (with idempotency keys), reading a
 * job back as the client-facing view, and waiting for its final state.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  type AbortSignalLike,
  awaitChannel,
  type Config,
  cancelKey,
  JOB_ERROR_MARKER,
  type JobDoneMessage,
  type JobError,
  type JobRequest,
  type JobResult,
  type JobStatus,
  type JobView,
  jobErrorSchema,
  QUEUE_NAME,
  type QueuedJobData,
  queuePrefix,
  type RedisClient,
} from '@switchyard/shared';
import { type Job, Queue } from 'bullmq';
import type { FleetModels } from '../fleet-models.ts';
import { ApiError } from '../plugins/errors.ts';
import type { CompletionHub } from './completion-hub.ts';
import { ANONYMOUS_OWNER, ANONYMOUS_VIEWER, EVERY_JOB, type JobViewer, maySee } from './ownership.ts';
import { jobIdFromKey, settleWrite } from './write-outcome.ts';

export const MAX_WAIT_MS = 60_000;
/** The worker's message for a job its client cancelled (apps/worker job-worker.ts). */
export const CLIENT_CANCEL_MESSAGE = 'cancelled by client';

export interface SubmitOptions {
  idempotencyKey?: string;
  /** Scopes idempotency keys per client, so two clients never collide. */
  clientId?: string;
  /** A job id chosen beforehand (jobId()), so a caller can start listening before the job exists. */
  id?: string;
  /** The caller will wait for the job's final state: its worker publishes the completion message. */
  notify?: boolean;
  /** Who submits: the job is stored with `viewer.owner`; an existing job found by its key must be visible to it. */
  viewer?: JobViewer;
}

export interface Submitted {
  id: string;
  /** True when an Idempotency-Key matched an existing job. */
  existing: boolean;
}

export class JobService {
  readonly queue: Queue<QueuedJobData, JobResult>;

  constructor(
    private readonly config: Config,
    private readonly redis: RedisClient,
    readonly hub: CompletionHub,
    /** The queue's connection; the request connection when not given (tests). */
    queueConnection: RedisClient = redis,
    /** What `model` means under the running fleet config; without it, env defaults and no checks (tests). */
    private readonly models?: FleetModels,
  ) {
    this.queue = new Queue<QueuedJobData, JobResult>(QUEUE_NAME, {
      connection: queueConnection,
      prefix: queuePrefix(config.SWITCHYARD_NAMESPACE),
      skipVersionCheck: true,
    });
    // The queue's connection fails fast like the request one; its errors are answered per request as 503s.
    this.queue.on('error', () => {});
  }

  /**
   * The id a submission gets, chosen before the write so the write can be repeated safely: random
   * without an Idempotency-Key; with one, derived from it per client (a resubmission finds the same
   * job), except `sy-job:<uuid>`, which names the job id itself (see write-outcome.ts).
   */
  jobId(options: SubmitOptions): string {
    if (!options.idempotencyKey) return randomUUID();
    const named = jobIdFromKey(options.idempotencyKey);
    if (named) return named;
    const digest = createHash('sha256')
      .update(`${options.clientId ?? ''}\0${options.idempotencyKey}`)
      .digest('hex');
    return `idem-${digest.slice(0, 32)}`;
  }

  buildData(request: JobRequest, notify = false, owner = ANONYMOUS_OWNER, client?: string): QueuedJobData {
    const data: QueuedJobData = {
      request,
      model: request.model ?? this.models?.defaultModel ?? this.config.DEFAULT_MODEL,
      budget_ms: request.budget_ms ?? this.routeBudgetMs(request.model) ?? this.config.JOB_BUDGET_MS,
      submitted_at: Date.now(),
      stream: request.stream === true,
      owner,
    };
    if (notify) data.notify = true;
    // Usage and spend (CONTRACT.md "Usage, spend and client budgets"): the worker counts the job under it.
    if (client !== undefined) data.client = client;
    return data;
  }

  jobOptions(id: string, request: JobRequest) {
    return {
      jobId: id,
      attempts: this.config.JOB_ATTEMPTS,
      backoff: { type: 'exponential' as const, delay: this.config.JOB_BACKOFF_MS, jitter: 0.5 },
      removeOnComplete: { age: this.config.RESULT_TTL_S, count: this.config.RESULT_MAX_COUNT },
      removeOnFail: { age: this.config.FAILED_TTL_S, count: this.config.RESULT_MAX_COUNT },
      ...(request.priority ? { priority: request.priority } : {}),
    };
  }

  private routeBudgetMs(model: string | undefined): number | undefined {
    return this.models?.routeBudgetMs(model ?? this.models.defaultModel);
  }

  /** Every model the request names must be routable under the running config: else a 404 naming the field. */
  checkModels(request: JobRequest, path = ''): void {
    if (!this.models) return;
    const names: Array<[string, string]> = [[`${path}model`, request.model ?? this.models.defaultModel]];
    for (const [i, name] of (request.fallbacks ?? []).entries()) names.push([`${path}fallbacks[${i}]`, name]);
    for (const [param, name] of names) {
      const check = this.models.check(name);
      if (!check.ok) throw new ApiError(404, 'not_found_error', `${param}: ${check.message}`, { code: 'model_not_found', param });
    }
  }

  async submit(request: JobRequest, options: SubmitOptions = {}): Promise<Submitted> {
    this.checkModels(request);
    const id = options.id ?? this.jobId(options);
    const viewer = options.viewer ?? ANONYMOUS_VIEWER;
    if (options.idempotencyKey) {
      const existing = await this.queue.getJob(id);
      if (existing) {
        if (!maySee(viewer, existing.data.owner)) throw foreignKey(options.idempotencyKey, 'Idempotency-Key');
        return { id, existing: true };
      }
    }
    const data = this.buildData(request, options.notify, viewer.owner, viewer.client);
    const opts = this.jobOptions(id, request);
    await settleWrite(() => this.queue.add('llm', data, opts), { ids: [id], keys: [options.idempotencyKey], batch: false });
    return { id, existing: false };
  }

  async submitMany(requests: JobRequest[], options: SubmitOptions[] = []): Promise<string[]> {
    for (const [i, request] of requests.entries()) this.checkModels(request, `jobs[${i}].`);
    const jobs = requests.map((request, i) => {
      const id = options[i]?.id ?? this.jobId(options[i] ?? {});
      const viewer = options[i]?.viewer ?? ANONYMOUS_VIEWER;
      return { name: 'llm', data: this.buildData(request, false, viewer.owner, viewer.client), opts: this.jobOptions(id, request) };
    });
    const ids = jobs.map((job) => job.opts.jobId);
    await this.refuseForeignNamedJobs(ids, options);
    // addBulk is a pipeline, not a transaction: a repeat also fills in whatever part of it was lost.
    const added = await settleWrite(() => this.queue.addBulk(jobs), {
      ids,
      keys: requests.map((_, i) => options[i]?.idempotencyKey),
      batch: true,
    });
    return added.map((job) => job.id as string);
  }

  /**
   * A batch item whose `sy-job:<uuid>` key names an existing job of another client would otherwise
   * come back as that job's id (addBulk skips ids that exist). Keys of other forms derive ids per
   * client, so only these few items need a read.
   */
  private async refuseForeignNamedJobs(ids: string[], options: SubmitOptions[]): Promise<void> {
    const named = options.flatMap((option, i) =>
      option.idempotencyKey && jobIdFromKey(option.idempotencyKey) ? [{ i, key: option.idempotencyKey }] : [],
    );
    for (const { i, key } of named) {
      const existing = await this.queue.getJob(ids[i] as string);
      if (existing && !maySee(options[i]?.viewer ?? ANONYMOUS_VIEWER, existing.data.owner)) {
        throw foreignKey(key, `jobs[${i}].idempotency_key (or the batch's Idempotency-Key)`);
      }
    }
  }

  /** The job as the API itself sees it: any owner's (waits, rechecks). Answers to a client use viewFor(). */
  view(id: string): Promise<JobView | null> {
    return this.viewFor(EVERY_JOB, id);
  }

  /** The job's view when `viewer` may see it; null when it does not exist or belongs to another client. */
  async viewFor(viewer: JobViewer, id: string): Promise<JobView | null> {
    if (!isJobId(id)) return null;
    const job = await this.queue.getJob(id);
    if (!job) {
      // A queued job removed by its cancel: the cancel mark holds its owner.
      const mark = await this.redis.get(cancelKey(this.config.SWITCHYARD_NAMESPACE, id));
      if (mark === null || !maySee(viewer, markOwner(mark))) return null;
      return { id, status: 'cancelled', error: { class: 'aborted', message: CLIENT_CANCEL_MESSAGE } };
    }
    if (!maySee(viewer, job.data.owner)) return null;
    const state = await job.getState();
    if ((state === 'completed' || state === 'failed') && !job.finishedOn) {
      // It finished between our two reads: the snapshot we hold predates its result, so read it again.
      return this.toView((await this.queue.getJob(id)) ?? job, state);
    }
    return this.toView(job, state);
  }

  private async toView(job: Job<QueuedJobData, JobResult>, state: string): Promise<JobView> {
    const view: JobView = {
      id: job.id as string,
      status: mapState(state),
      model: job.data.model,
      created_at: new Date(job.timestamp).toISOString(),
    };
    if (job.finishedOn) view.finished_at = new Date(job.finishedOn).toISOString();
    if (view.status === 'completed' && job.returnvalue) view.result = job.returnvalue;
    if (view.status === 'failed') {
      view.error = parseJobError(job.failedReason);
      if (view.error.class === 'aborted' && (await this.redis.exists(cancelKey(this.config.SWITCHYARD_NAMESPACE, view.id)))) {
        view.status = 'cancelled';
      }
    }
    return view;
  }

  /** The job's view once final, or as it stands when `waitMs` runs out; null when `viewer` may not see it. */
  async waitForFinal(viewer: JobViewer, id: string, waitMs: number, signal?: AbortSignalLike): Promise<JobView | null> {
    const deadlineAt = Date.now() + Math.min(waitMs, MAX_WAIT_MS);
    const first = this.waiter(id, deadlineAt, signal, ANNOUNCED_RECHECK_MS);
    let now: JobView | null;
    try {
      now = await this.viewFor(viewer, id);
    } catch (err) {
      first.cancel();
      throw err;
    }
    if (!now || isFinal(now.status)) {
      first.cancel();
      return now;
    }
    await this.announceAwait(id);
    // awaitFinal re-reads the job when no message comes: a worker killed between BullMQ's completion
    // and its publish would otherwise leave this request waiting out its whole deadline.
    const message = await this.awaitFinal(id, first, deadlineAt, signal);
    if (message) {
      const view: JobView = {
        id,
        status: message.status,
        model: now.model,
        created_at: now.created_at,
        finished_at: new Date().toISOString(),
      };
      if (message.result) view.result = message.result;
      if (message.error) view.error = message.error;
      return view;
    }
    return (await this.view(id)) ?? now;
  }

  /**
   * Registers a completion waiter for awaitFinal(): call it before adding the job. A wait whose
   * completion message depends on an announcement (announceAwait(), an SSE watch, a cancel) passes
   * `firstCheckMs` = ANNOUNCED_RECHECK_MS: a job that finished before its worker heard the
   * announcement is found by that first read back instead of RECHECK_MS later.
   */
  waiter(id: string, deadlineAt: number, signal?: AbortSignalLike, firstCheckMs = RECHECK_MS) {
    return this.hub.wait(id, Math.min(firstCheckMs, Math.max(1, deadlineAt - Date.now())), signal);
  }

  /**
   * Tells the workers a request waits for this job's final state, for a job not submitted with
   * `notify`. Best effort: the waiter's read backs find the job's state anyway.
   */
  async announceAwait(id: string): Promise<void> {
    await this.redis.publish(awaitChannel(this.config.SWITCHYARD_NAMESPACE), id).catch(() => 0);
  }

  /**
   * Replaces `previous` (a waiter registered for a job this request meant to submit with `notify`)
   * when the job turned out to exist already, maybe submitted without it: a waiter with the short
   * first read back, then the announcement.
   */
  async announcedWaiter(previous: { cancel: () => void }, id: string, deadlineAt: number, signal?: AbortSignalLike) {
    previous.cancel();
    const waiter = this.waiter(id, deadlineAt, signal, ANNOUNCED_RECHECK_MS);
    await this.announceAwait(id);
    return waiter;
  }

  /**
   * Waits for the job's final state with `first` (from waiter()) already registered (before the job was added, so
   * no read is needed up front). Pub/sub can drop a message while a connection is re-established,
   * so every RECHECK_MS without news the job is read back once. Null when `deadlineAt` passes or
   * `signal` aborts first.
   */
  async awaitFinal(
    id: string,
    first: { promise: Promise<JobDoneMessage | null>; cancel: () => void },
    deadlineAt: number,
    signal?: AbortSignalLike,
  ): Promise<JobDoneMessage | null> {
    let waiter = first;
    try {
      for (;;) {
        const message = await waiter.promise;
        if (message) return message;
        if (signal?.aborted || Date.now() >= deadlineAt) return null;
        const view = await this.view(id).catch(() => null);
        if (view && isFinal(view.status)) return viewToDone(view);
        waiter = this.waiter(id, deadlineAt, signal);
      }
    } finally {
      waiter.cancel();
    }
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

/** The owner a cancel mark holds; marks from before owners were stored hold "1". */
export function markOwner(mark: string): string | undefined {
  return mark === '1' ? undefined : mark;
}

/** 409 for an Idempotency-Key that names (sy-job:<uuid>) a job the caller may not see. */
function foreignKey(key: string, where: string): ApiError {
  return new ApiError(
    409,
    'invalid_request_error',
    `${where} "${key}" names a job this client did not submit, so it cannot resolve to it. ` +
      'Fix: use the key your own 503 answer gave, or a key of your own.',
    { code: 'idempotency_key_conflict' },
  );
}

/** How long a waiter trusts pub/sub alone before reading the job back. */
export const RECHECK_MS = 5_000;
/**
 * The first read back of a wait that announced itself: the announcement and the job's completion
 * can cross (the worker finished it before the message arrived), leaving no completion message.
 */
export const ANNOUNCED_RECHECK_MS = 250;

/** A final view as the completion message the worker would have published. */
export function viewToDone(view: JobView): JobDoneMessage {
  const message: JobDoneMessage = { id: view.id, status: view.status as JobDoneMessage['status'] };
  if (view.result) message.result = view.result;
  if (view.error) message.error = view.error;
  return message;
}

/**
 * Ids this service hands out: a UUID, or `idem-` and 32 hex digits. Anything else cannot be a job,
 * and must never reach BullMQ: `events`, `meta`, `wait`... name the queue's own keys.
 */
const JOB_ID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|idem-[0-9a-f]{32})$/;
export function isJobId(id: string): boolean {
  return JOB_ID.test(id);
}

export function isFinal(status: JobStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}

function mapState(state: string): JobStatus {
  switch (state) {
    case 'active':
      return 'active';
    case 'completed':
      return 'completed';
    case 'failed':
      return 'failed';
    default:
      return 'queued';
  }
}

export function parseJobError(failedReason: string | undefined): JobError {
  if (failedReason?.startsWith(JOB_ERROR_MARKER)) {
    try {
      const parsed = jobErrorSchema.safeParse(JSON.parse(failedReason.slice(JOB_ERROR_MARKER.length)));
      if (parsed.success) return parsed.data;
    } catch {
      // fall through: an unreadable reason is reported as it is
    }
  }
  return { class: 'service_unavailable', message: failedReason || 'job failed without a reason' };
}
