/**
 * Owns the queue's names and the data that travels through BullMQ, so the API that enqueues and
 * the worker that consumes agree by construction.
 */
import type { JobRequest, JobResult } from './job.ts';

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
