/**
 * Owns a failed job's whole story across its queue-level attempts (CONTRACT.md, "A failed job's
 * error"): every call of every attempt in order, each stamped with its attempt number; the last
 * real provider failure (`last_error`); and the class and message that say why the job ended.
 * A budget that ran out reads `budget_exhausted` with the job's whole budget and every call made,
 * never `aborted` with what was left of it for the last attempt: a user reading "aborted" thinks
 * they cancelled the job, and the 503s that spent the budget were the point.
 * Pure functions: the JobWorker decides when, this module decides what the job says.
 */
import type { Attempt, ErrorClass, JobError, LastError } from '@switchyard/shared';

/** One attempt's calls, stamped with its 1-based queue-level attempt number. */
export function numbered(attempts: readonly Attempt[] | undefined, attempt: number): Attempt[] {
  return (attempts ?? []).map((a) => (a.attempt === undefined ? { ...a, attempt } : a));
}

/**
 * The last call that a provider answered with a failure, by when it ended: our own aborts (hedge
 * losers, budget, cancel) say nothing about why the job failed, and a success is not a failure.
 */
export function lastProviderError(attempts: readonly Attempt[]): LastError | undefined {
  let last: { call: Attempt; class: ErrorClass } | undefined;
  for (const call of attempts) {
    if (call.outcome === 'success' || call.outcome === 'aborted') continue;
    if (!last || endsLater(call, last.call)) last = { call, class: call.outcome };
  }
  if (!last) return undefined;
  const { call } = last;
  // Attempts name their deployment (workers older than routes over deployments did not).
  const deployment = call.deployment !== undefined ? { deployment: call.deployment } : {};
  return { class: last.class, message: call.message ?? last.class, provider: call.provider, ...deployment };
}

function endsLater(a: Attempt, b: Attempt): boolean {
  const [attemptA, attemptB] = [a.attempt ?? 0, b.attempt ?? 0];
  if (attemptA !== attemptB) return attemptA > attemptB;
  return a.started_ms + a.latency_ms >= b.started_ms + b.latency_ms;
}

export interface StoryInput {
  /** How this queue-level attempt ended; its `attempts` are this attempt's calls. */
  error: JobError;
  /** This queue-level attempt, 1-based. */
  attempt: number;
  /** The calls of the earlier attempts, numbered (QueuedJobData.earlier_attempts). */
  earlier: readonly Attempt[] | undefined;
  /** The job's whole budget. */
  budgetMs: number;
  /**
   * The job stops because its budget is spent although this attempt's failure would have been
   * retried (a transient class at or past the deadline): the budget is why it failed.
   */
  budgetSpent: boolean;
}

/** The job's error with its whole story: every call so far, the last provider failure, why it ended. */
export function tellStory({ error, attempt, earlier, budgetMs, budgetSpent }: StoryInput): JobError {
  const attempts = [...(earlier ?? []), ...numbered(error.attempts, attempt)];
  const last = lastProviderError(attempts);
  const story: JobError = { ...error, attempts };
  if (last) story.last_error = last;
  else delete story.last_error;
  // A cancel (client or shutdown) keeps its class and its exact message: callers match on them.
  if (error.class === 'aborted') return story;
  if (error.class === 'budget_exhausted' || budgetSpent) {
    story.class = 'budget_exhausted';
    story.message = `budget of ${budgetMs} ms exhausted after ${calls(attempts.length)}${lastErrorClause(last)}`;
    return story;
  }
  // A job-level class (no provider available...) or a failure unlike the last one: name the last one too.
  if (last && last.class !== error.class) story.message = `${error.message}${lastErrorClause(last)}`;
  return story;
}

function calls(n: number): string {
  return `${n} call${n === 1 ? '' : 's'}`;
}

function lastErrorClause(last: LastError | undefined): string {
  if (!last) return '';
  // The deployment names where the call went; its kind is added when the id does not say it already.
  const where = last.deployment && last.deployment !== last.provider ? `${last.deployment} (${last.provider})` : last.provider;
  return `; last error: ${last.class} from ${where}: ${last.message}`;
}
