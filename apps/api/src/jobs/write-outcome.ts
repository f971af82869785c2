/**
 * Owns job writes whose outcome Redis left unclear. The request connection gives up on a command
 * after 1 s (packages/shared/src/redis.ts), but Redis may still run it: a slow Redis, or a
 * connection lost with the write on it. Answering "unavailable, retry" then invites a duplicate
 * job from any client that retries without an Idempotency-Key.
 *
 * Job ids are assigned before the write, and BullMQ's add is a no-op for an id that exists, so the
 * same write can be repeated safely, the way an idempotent producer retries with its sequence
 * number. A timed-out write is repeated on the same connection for up to SETTLE_MS: Redis runs a
 * connection's commands in order, so the first repeat that answers proves the job exists, once.
 * Only when none answers does the client hear "outcome unknown", and then with the job ids and the
 * Idempotency-Key that reaches each of them again, so a retry can never make a second job.
 */
import { ApiError, isRedisUnavailable } from '../plugins/errors.ts';

/** How long a write with an unclear outcome is repeated before the client is told. */
export const SETTLE_MS = 2_000;
/** Pause between repeats while the connection is down (each repeat fails at once then). */
const RECONNECT_PAUSE_MS = 100;

/**
 * The Idempotency-Key form that names a job id directly: `sy-job:<uuid>` resolves to job `<uuid>`.
 * It is how a client that sent no key retries a write with an unknown outcome.
 */
export const JOB_ID_KEY_PREFIX = 'sy-job:';
const JOB_ID_KEY = /^sy-job:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** The job id an Idempotency-Key of the `sy-job:<uuid>` form names, else undefined. */
export function jobIdFromKey(idempotencyKey: string): string | undefined {
  return JOB_ID_KEY.exec(idempotencyKey)?.[1];
}

/** The Idempotency-Key that reaches job `id` again: the client's own, else `sy-job:<id>`. */
export function retryKey(id: string, idempotencyKey: string | undefined): string {
  return idempotencyKey ?? `${JOB_ID_KEY_PREFIX}${id}`;
}

/** ioredis refused the command before sending it (no connection, no offline queue): it never ran. */
function neverSent(err: unknown): boolean {
  return err instanceof Error && /enableOfflineQueue/.test(err.message);
}

export interface UnclearWrite {
  ids: string[];
  /** Per id: the client's Idempotency-Key, if it sent one. */
  keys: Array<string | undefined>;
  /** One job (POST /v1/jobs, the facade) or a batch: the envelope names `job_id` or `job_ids`. */
  batch: boolean;
}

/** 503 `outcome_unknown`: the jobs may exist; the body says how to find out and how to retry safely. */
export class OutcomeUnknownError extends ApiError {
  constructor(write: UnclearWrite, cause: unknown) {
    const keys = write.ids.map((id, i) => retryKey(id, write.keys[i]));
    const anyKeyless = write.keys.some((key) => key === undefined);
    const [id] = write.ids;
    const [key] = keys;
    const message = write.batch
      ? `Redis did not confirm in time whether these ${write.ids.length} jobs were queued: they may exist. ` +
        'Resubmitting the batch with item i\'s "idempotency_key" set to error.idempotency_keys[i] is safe: each resolves to ' +
        'the job in error.job_ids[i], never a second one. GET /v1/jobs/<id> shows whether one exists.'
      : `Redis did not confirm in time whether job ${id} was queued: it may exist. Resubmitting with the header ` +
        `"Idempotency-Key: ${key}" is safe: it resolves to this job, never a second one. GET /v1/jobs/${id} shows whether it exists.`;
    const extra = write.batch
      ? { code: 'outcome_unknown', job_ids: write.ids, idempotency_keys: keys }
      : { code: 'outcome_unknown', job_id: id, idempotency_key: key };
    const headers: Record<string, string> = { 'retry-after': '1' };
    if (!write.batch && id) {
      headers.location = `/v1/jobs/${id}`;
      headers['x-switchyard-job-id'] = id;
    }
    // SDKs that retry 5xx on their own (OpenAI's) would resend without the key: a duplicate.
    if (anyKeyless) headers['x-should-retry'] = 'false';
    super(503, 'service_unavailable', message, extra, headers);
    this.name = 'OutcomeUnknownError';
    this.cause = cause;
    this.logAs = {
      msg: 'job write outcome unknown',
      fields: { jobs: write.ids.length, jobIds: write.ids.slice(0, 5), cause: cause instanceof Error ? cause.message : String(cause) },
    };
  }
}

/**
 * Runs `write`, a job write that is safe to repeat (fixed job ids). A Redis failure after the
 * command may have been sent is settled by repeating it for up to `settleMs`; failing that, an
 * OutcomeUnknownError for `what`. Any other failure, or one from a command never sent, is thrown
 * as it is (nothing was written, so the usual 503 "retry" is the truth).
 */
export async function settleWrite<T>(write: () => Promise<T>, what: UnclearWrite, settleMs = SETTLE_MS): Promise<T> {
  let last: unknown;
  try {
    return await write();
  } catch (err) {
    if (!isRedisUnavailable(err) || neverSent(err)) throw err;
    last = err;
  }
  const deadline = Date.now() + settleMs;
  while (Date.now() < deadline) {
    try {
      return await write();
    } catch (err) {
      last = err;
      // A real error reply leaves the first write's fate as unclear as before: stop here.
      if (!isRedisUnavailable(err)) break;
      if (neverSent(err)) await sleep(Math.min(RECONNECT_PAUSE_MS, Math.max(0, deadline - Date.now())));
    }
  }
  throw new OutcomeUnknownError(what, last);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
