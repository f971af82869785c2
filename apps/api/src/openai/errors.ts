/**
 * Owns how a failed job reads to an OpenAI client: each error class becomes the HTTP status the
 * official SDKs turn into the right typed error (BadRequestError, NotFoundError, RateLimitError,
 * InternalServerError...), with OpenAI's `code` and `param`. Upstream credential problems are
 * 502s, never 401/403: the client's own key is fine, ours is not.
 */
import type { ErrorClass, JobError } from '@switchyard/shared';
import { CLIENT_CANCEL_MESSAGE } from '../jobs/job-service.ts';
import { ApiError, type ApiErrorType, errorBody } from '../plugins/errors.ts';

export interface OpenAiErrorDetails {
  code: string | null;
  param: string | null;
  provider?: string;
  headers?: Record<string, string>;
}

export class OpenAiError extends ApiError {
  constructor(status: number, type: ApiErrorType, message: string, details: OpenAiErrorDetails) {
    const extra: Record<string, unknown> = { code: details.code, param: details.param };
    if (details.provider) extra.provider = details.provider;
    super(status, type, message, extra, details.headers ?? {});
  }
}

interface Mapping {
  status: number;
  type: ApiErrorType;
  code: string;
  param?: string;
  /** The SDKs retry 5xx by default; for these a retry cannot help. */
  noRetry?: boolean;
  retryAfter?: boolean;
}

const MAPPINGS: Record<ErrorClass, Mapping> = {
  bad_request: { status: 400, type: 'invalid_request_error', code: 'invalid_request' },
  context_length_exceeded: { status: 400, type: 'invalid_request_error', code: 'context_length_exceeded', param: 'messages' },
  content_policy: { status: 400, type: 'invalid_request_error', code: 'content_policy_violation' },
  model_not_found: { status: 404, type: 'invalid_request_error', code: 'model_not_found', param: 'model' },
  rate_limited: { status: 429, type: 'rate_limit_error', code: 'rate_limit_exceeded', retryAfter: true },
  no_provider_available: { status: 503, type: 'service_unavailable', code: 'no_provider_available', retryAfter: true },
  service_unavailable: { status: 503, type: 'service_unavailable', code: 'upstream_unavailable', retryAfter: true },
  timeout: { status: 504, type: 'timeout_error', code: 'timeout' },
  network_error: { status: 502, type: 'upstream_error', code: 'upstream_network_error' },
  invalid_response: { status: 502, type: 'upstream_error', code: 'upstream_invalid_response' },
  api_key_invalid: { status: 502, type: 'upstream_error', code: 'upstream_api_key_invalid', noRetry: true },
  forbidden: { status: 502, type: 'upstream_error', code: 'upstream_forbidden', noRetry: true },
  credits_exhausted: { status: 502, type: 'upstream_error', code: 'upstream_credits_exhausted', noRetry: true },
  aborted: { status: 504, type: 'timeout_error', code: 'aborted' },
  // The job's budget ran out: a gateway that got no timely answer upstream (RFC 9110's 504), which
  // the SDKs raise as InternalServerError and retry with a fresh budget. Not 503: that says the
  // service is down and asks for a retry-after, when a slow provider or a short budget is as likely.
  // Not 408 (LiteLLM's Timeout): that blames the client for being slow to send its request.
  budget_exhausted: { status: 504, type: 'timeout_error', code: 'budget_exhausted' },
};

/** The status, type and code for a job error (also used for SSE error events). */
export function mapJobError(error: JobError): Mapping {
  if (error.class === 'aborted' && error.message === CLIENT_CANCEL_MESSAGE) {
    // gRPC's CANCELLED maps to 499 (Client Closed Request); the SDKs do not retry it.
    return { status: 499, type: 'cancelled', code: 'cancelled' };
  }
  return MAPPINGS[error.class] ?? { status: 502, type: 'upstream_error', code: 'upstream_error' };
}

/** A failed job as the error an OpenAI client expects. `retryAfterS` defaults to 1 where one applies. */
export function jobErrorToOpenAi(error: JobError, retryAfterS = 1): OpenAiError {
  const m = mapJobError(error);
  const headers: Record<string, string> = {};
  if (m.retryAfter) headers['retry-after'] = String(Math.max(1, Math.ceil(retryAfterS)));
  if (m.noRetry) headers['x-should-retry'] = 'false';
  const where = error.provider ? `${error.provider}: ` : '';
  return new OpenAiError(m.status, m.type, `${where}${error.message} (${error.class})`, {
    code: m.code,
    param: m.param ?? null,
    ...(error.provider ? { provider: error.provider } : {}),
    headers,
  });
}

/** The body of an SSE error event: the same object an error response carries. */
export function errorEventBody(err: ApiError) {
  return errorBody(err.type, err.message, err.extra);
}

/** A facade request whose job did not finish within its wait (the job is cancelled). */
export const jobTimeoutError = () =>
  new OpenAiError(504, 'timeout_error', 'The job did not finish in time and was cancelled.', { code: 'timeout', param: null });

/** A stream whose provider failed after tokens reached the client. */
export const streamInterruptedError = () =>
  new OpenAiError(
    502,
    'upstream_error',
    'The provider failed after the stream had started; a stream cannot be resumed. Retry the request.',
    {
      code: 'stream_interrupted',
      param: null,
    },
  );
