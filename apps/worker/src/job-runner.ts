/** The seam between the queue and the routing of one job: the worker calls a JobRunner per job. */
import type { AbortSignalLike, JobError, JobResult, Logger, QueuedJobData } from '@switchyard/shared';

export interface RunInput {
  jobId: string;
  data: QueuedJobData;
  /** Aborts on client cancel and on shutdown past the drain deadline. */
  signal: AbortSignalLike;
  /**
   * Epoch ms at which the job's budget runs out, across all its attempts: its first activation
   * (BullMQ's processedOn, stamped by the worker's clock) + budget_ms. Unset: the whole budget from
   * now. Work before routing starts is inside it.
   */
  deadlineAt?: number;
  /** Set when the job streams: receives each token as it arrives. */
  onToken?: (delta: string) => void;
  /** The job's logger, bound to its id. */
  logger?: Logger;
}

export interface JobRunner {
  run(input: RunInput): Promise<JobResult>;
}

const JOB_FAILURE = Symbol.for('switchyard.job-failure');

/** What a runner throws when a job fails: the client-facing error and whether retrying can help. */
export class JobFailure extends Error {
  readonly [JOB_FAILURE] = true;
  constructor(
    readonly jobError: JobError,
    readonly permanent: boolean,
  ) {
    super(jobError.message);
    this.name = 'JobFailure';
  }
}

/**
 * True for a JobFailure, also one built by a second copy of this module: a test loader or a bundle
 * can load it twice, and `instanceof` would then turn a runner's failure into a worker error.
 */
export function isJobFailure(err: unknown): err is JobFailure {
  return typeof err === 'object' && err !== null && (err as { [JOB_FAILURE]?: unknown })[JOB_FAILURE] === true;
}
