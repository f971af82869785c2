/**
 * Owns the queue's names and the data that travels through BullMQ, so the API that enqueues and
 * the worker that consumes agree by construction.
 */
import type { Attempt, JobRequest, JobResult } from './job.ts';

export const QUEUE_NAME = 'llm-jobs';

/** BullMQ prefix with a hash tag: every queue key lands in one Redis Cluster slot. */
export function queuePrefix(namespace: string): string {
  return `{${namespace}:q}`;
}

/** What the API puts on the queue: the validated request plus what the API resolved for it. */
export interface QueuedJobData {
  request: JobRequest;
  /** The model to use, resolved against DEFAULT_MODEL at submission. */
  model: string;
  budget_ms: number;
  submitted_at: number;
  /** Tokens are published for SSE and the OpenAI facade when true. */
  stream: boolean;
  /**
   * Set by the worker when it hands the job back for a queue-level retry: the epoch ms at which the
   * job's one budget runs out (its first attempt's start + budget_ms). Later attempts get what is
   * left of it, never a fresh budget (DESIGN.md section 4: the job ends at the budget).
   */
  budget_deadline_at?: number;
  /**
   * Set by the worker when an attempt goes back to the queue (a retry, a shutdown hand-back): the
   * provider calls made so far, each with its `attempt` number, appended to by every such attempt.
   * The job's final error lists them before the last attempt's own: a failed job tells its whole story.
   */
  earlier_attempts?: Attempt[];
  /**
   * Set at submission when a request will wait for the job's final state (the OpenAI facade): its
   * worker publishes the completion message (jobDoneChannel). Other completed jobs are announced
   * only to requests that said they wait (awaitChannel, watchChannel).
   */
  notify?: boolean;
  /**
   * Who submitted it: a digest of the client's key (never the key), or "anonymous" without
   * API_KEYS; other clients are answered as if the job did not exist (apps/api jobs/ownership.ts).
   * Not for logs: the short client id is what identifies a client there.
   */
  owner?: string;
  /**
   * The client the job's usage and spend are counted under (CONTRACT.md, "Usage, spend and client
   * budgets"): a config client's name, `key-<digest>` for an API_KEYS key, or `anonymous`. Set at
   * intake; jobs queued by older API replicas lack it and count as `anonymous`.
   */
  client?: string;
}

export type QueuedJobResult = JobResult;

/** Pub/sub channel on which workers publish job events (state changes and tokens). */
export function jobEventsChannel(namespace: string, jobId: string): string {
  return `${namespace}:{events}:job:${jobId}`;
}

/** Key that marks a job as cancelled by its client; workers poll/subscribe to abort active jobs. */
export function cancelKey(namespace: string, jobId: string): string {
  return `${namespace}:{cancel}:${jobId}`;
}
export function cancelChannel(namespace: string): string {
  return `${namespace}:{cancel}:channel`;
}

/**
 * The API publishes a job id here when a client starts following the job's events (SSE), so the
 * worker that runs it publishes its state changes; jobs nobody follows cost no per-job PUBLISH.
 * Streaming jobs (QueuedJobData.stream) always publish.
 */
export function watchChannel(namespace: string): string {
  return `${namespace}:{events}:watch`;
}

/**
 * The API publishes a job id here when a request starts waiting for the job's final state without
 * having submitted it with `notify` (a long-poll, a cancel, a resubmission found by its key), so the
 * worker that finishes it publishes the completion message.
 */
export function awaitChannel(namespace: string): string {
  return `${namespace}:{events}:await`;
}

/**
 * Workers publish a message here when a job reaches a final state and a request may be waiting on
 * it: always for failed and cancelled jobs; for completed ones when the job was submitted with
 * `notify` or streams, or a request announced itself (awaitChannel, watchChannel), or the worker
 * was not subscribed when such an announcement could have been sent. Each API process holds one
 * subscription and wakes the requests waiting on that job (long-poll, SSE, the OpenAI facade). The
 * id comes first so a process can skip jobs nobody waits for without parsing JSON.
 */
export function jobDoneChannel(namespace: string): string {
  return `${namespace}:{events}:done`;
}

export type FinalStatus = 'completed' | 'failed' | 'cancelled';

export interface JobDoneMessage {
  id: string;
  status: FinalStatus;
  result?: JobResult;
  error?: import('./job.ts').JobError;
}

export function encodeJobDone(message: JobDoneMessage): string {
  return `${message.id}\n${JSON.stringify(message)}`;
}

export function jobDoneId(raw: string): string {
  const newline = raw.indexOf('\n');
  return newline === -1 ? '' : raw.slice(0, newline);
}

export function decodeJobDone(raw: string): JobDoneMessage | null {
  const newline = raw.indexOf('\n');
  if (newline === -1) return null;
  try {
    return JSON.parse(raw.slice(newline + 1)) as JobDoneMessage;
  } catch {
    return null;
  }
}

/** BullMQ stores a failure as a string; ours is the JobError as JSON behind this marker. */
export const JOB_ERROR_MARKER = 'switchyard-error:';

/** Per-job events on jobEventsChannel: state changes, and tokens when the job streams. */
export type JobEvent =
  | { type: 'state'; status: 'active' | 'completed' | 'failed' | 'cancelled'; at: number }
  | { type: 'token'; delta: string; index: number };
