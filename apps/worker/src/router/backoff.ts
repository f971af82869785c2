/**
 * Owns the delay before a same-provider retry: the provider's own retry-after for a 429, else
 * exponential backoff with equal jitter (half fixed, half random), capped.
 */
import type { ErrorClass } from '@switchyard/shared';

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  random: () => number;
}

/** `retryNo` is 0 for the first retry of a candidate. */
export function retryDelayMs(errorClass: ErrorClass, retryNo: number, retryAfterMs: number | undefined, options: BackoffOptions): number {
  if (errorClass === 'rate_limited' && retryAfterMs !== undefined && retryAfterMs >= 0) {
    // A small spread so a fleet released by one cooldown does not hit the provider in one instant.
    return retryAfterMs + Math.floor(options.random() * Math.min(250, retryAfterMs * 0.1 + 10));
  }
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** retryNo);
  return Math.floor(ceiling / 2 + options.random() * (ceiling / 2));
}
