/** The seam between the queue and the routing of one job: the worker calls a JobRunner per job. */
import type { JobError, JobResult, QueuedJobData } from '@switchyard/shared';

export interface RunInput {
  jobId: string;
  data: QueuedJobData;
  /** Aborts on client cancel and on shutdown past the drain deadline. */
  signal: AbortSignal;
  /**
   * Epoch ms at which the job became active on this worker (BullMQ's processedOn, stamped by this
   * process's clock). The job's budget counts from here, so work before routing starts is inside it.
   */
  activeSince?: number;
  /**
   * Epoch ms at which the job's budget runs out across all its attempts. Unset: activeSince +
   * budget_ms (the first attempt).
   */
  deadlineAt?: number;
  /** Set when the job streams: receives each token as it arrives. */
  onToken?: (delta: string) => void;
}

export interface JobRunner {
  run(input: RunInput): Promise<JobResult>;
}

/** What a runner throws when a job fails: the client-facing error and whether retrying can help. */
export class JobFailure extends Error {
  constructor(
    readonly jobError: JobError,
    readonly permanent: boolean,
  ) {
    super(jobError.message);
    this.name = 'JobFailure';
  }
}
