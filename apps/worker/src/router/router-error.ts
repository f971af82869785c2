/**
 * Owns how a routed job fails: RouterError carries the contract's JobError (class, message,
 * provider, attempts), why the job ended, and whether the queue may retry it (`permanent` false)
 * or must not (true: BullMQ UnrecoverableError).
 */
import { type Attempt, CLASS_POLICY, type ErrorClass, type JobError, redactSecrets } from '@switchyard/shared';

/**
 * - `failed`: every candidate that could be tried failed (class: the last failure's), or one failed
 *   with a class that forbids fallback (bad_request, content_policy), or the committed stream broke.
 * - `no_provider`: every candidate was skipped (open circuit, cooldown): `no_provider_available`.
 * - `budget`: the job's budget ran out (class `budget_exhausted`): the client's deadline has passed, so permanent.
 * - `cancelled`: the external signal aborted (class `aborted`); see `cause` for its reason.
 * - `invalid_job`: nothing routable was asked for (no candidates, unknown providers).
 */
export type RouterFailure = 'failed' | 'no_provider' | 'budget' | 'cancelled' | 'invalid_job';

export interface RouterErrorInit {
  errorClass: ErrorClass;
  reason: RouterFailure;
  message: string;
  provider?: string;
  attempts: Attempt[];
  permanent: boolean;
  /** Tokens of this job already reached the client. */
  tokensEmitted?: boolean;
  cause?: unknown;
}

export class RouterError extends Error {
  readonly errorClass: ErrorClass;
  readonly reason: RouterFailure;
  readonly provider?: string;
  readonly attempts: Attempt[];
  /** True: do not retry the job at the queue level (BullMQ UnrecoverableError). */
  readonly permanent: boolean;
  readonly tokensEmitted: boolean;

  constructor(init: RouterErrorInit) {
    super(redactSecrets(init.message), init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'RouterError';
    this.errorClass = init.errorClass;
    this.reason = init.reason;
    if (init.provider !== undefined) this.provider = init.provider;
    this.attempts = init.attempts;
    this.permanent = init.permanent;
    this.tokensEmitted = init.tokensEmitted ?? false;
  }

  /** The contract's wire shape, as stored with the failed job and served by GET /v1/jobs/:id. */
  get jobError(): JobError {
    return {
      class: this.errorClass,
      message: this.message,
      ...(this.provider !== undefined ? { provider: this.provider } : {}),
      attempts: this.attempts,
    };
  }

  toJSON(): JobError {
    return this.jobError;
  }
}

export function isRouterError(err: unknown): err is RouterError {
  return err instanceof RouterError;
}

/**
 * A job whose candidates all failed may be retried by the queue unless every failure was of a
 * permanent class (a retry could not change the answer).
 */
export function permanentFor(classes: readonly ErrorClass[]): boolean {
  return classes.length > 0 && classes.every((c) => CLASS_POLICY[c].permanent);
}
