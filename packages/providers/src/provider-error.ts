/** The one error type adapters reject with: a class from the contract's table, and what led to it. */
import type { DeploymentKind, ErrorClass } from '@switchyard/shared';
import { redactSecrets } from '@switchyard/shared';

export class ProviderError extends Error {
  readonly errorClass: ErrorClass;
  readonly provider: DeploymentKind;
  readonly status?: number;
  /** Parsed from `retry-after` (seconds or HTTP date) or the vendor's body, in milliseconds. */
  readonly retryAfterMs?: number;
  /** Vendor rate-limit headers as received (x-ratelimit-*, anthropic-ratelimit-*). */
  readonly rateLimit?: Record<string, string>;

  constructor(init: {
    errorClass: ErrorClass;
    provider: DeploymentKind;
    message: string;
    status?: number;
    retryAfterMs?: number;
    rateLimit?: Record<string, string>;
    cause?: unknown;
  }) {
    super(redactSecrets(init.message), init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'ProviderError';
    this.errorClass = init.errorClass;
    this.provider = init.provider;
    if (init.status !== undefined) this.status = init.status;
    if (init.retryAfterMs !== undefined) this.retryAfterMs = init.retryAfterMs;
    if (init.rateLimit !== undefined) this.rateLimit = init.rateLimit;
  }
}

export function isProviderError(err: unknown): err is ProviderError {
  return err instanceof ProviderError;
}
