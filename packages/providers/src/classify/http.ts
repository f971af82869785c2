/**
 * Owns turning an HTTP failure (status, headers, body) or an in-band error into a ProviderError:
 * the vendor module picks the class, this module adds what headers say (retry-after, rate limits).
 */
import type { DeploymentKind } from '@switchyard/shared';
import { ProviderError } from '../provider-error.ts';
import { type HeaderSource, parseRetryAfter, rateLimitHeaders } from './retry-after.ts';
import type { VendorErrorClassifier } from './vendor.ts';

export interface HttpFailureInit {
  provider: DeploymentKind;
  status: number | undefined;
  headers?: HeaderSource;
  body: unknown;
  classify: VendorErrorClassifier;
  /** Says where the error came from when it was in-band: "stream event", "200 body". */
  inBand?: string;
}

export function providerErrorFromHttp(init: HttpFailureInit): ProviderError {
  const verdict = init.classify({ status: init.status, body: init.body });
  const where = init.inBand ? `in-band error in ${init.inBand}` : `HTTP ${init.status}`;
  const retryAfterMs = parseRetryAfter(init.headers) ?? verdict.retryAfterMs;
  const rateLimit = rateLimitHeaders(init.headers);
  return new ProviderError({
    errorClass: verdict.errorClass,
    provider: init.provider,
    message: `${init.provider} ${where}: ${verdict.message}`,
    ...(init.status !== undefined ? { status: init.status } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    ...(rateLimit ? { rateLimit } : {}),
  });
}

/** Parses an error body that may be JSON, text, or empty. */
export function parseErrorBody(text: string): unknown {
  const trimmed = text.trim();
  if (!trimmed) return undefined;
  try {
    return JSON.parse(trimmed);
  } catch {
    return trimmed.slice(0, 2000);
  }
}
