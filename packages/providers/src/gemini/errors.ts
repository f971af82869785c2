/**
 * Owns Gemini's error vocabulary: google.rpc.Status as JSON, `{"error":{"code","message","status",
 * "details"}}`, where `status` is the canonical code string (RESOURCE_EXHAUSTED, UNAUTHENTICATED, ...)
 * and `details` may carry an ErrorInfo reason (API_KEY_INVALID arrives as a 400 INVALID_ARGUMENT) and
 * a RetryInfo delay. Pure.
 */
import type { ErrorClass } from '@switchyard/shared';
import { parseDurationSeconds } from '../classify/retry-after.ts';
import { classForStatus } from '../classify/status.ts';
import { fallbackMessage, looksLikeContextLength, pick, pickString, type VendorFailure, type VendorVerdict } from '../classify/vendor.ts';

export const GEMINI_STATUS_TABLE: Readonly<Record<string, ErrorClass>> = {
  INVALID_ARGUMENT: 'bad_request',
  OUT_OF_RANGE: 'bad_request',
  ALREADY_EXISTS: 'bad_request',
  UNIMPLEMENTED: 'bad_request',
  // "User location is not supported", "enable billing to use this model": the account may not use it.
  FAILED_PRECONDITION: 'forbidden',
  UNAUTHENTICATED: 'api_key_invalid',
  PERMISSION_DENIED: 'forbidden',
  NOT_FOUND: 'model_not_found',
  RESOURCE_EXHAUSTED: 'rate_limited',
  INTERNAL: 'service_unavailable',
  UNAVAILABLE: 'service_unavailable',
  DEADLINE_EXCEEDED: 'service_unavailable',
  ABORTED: 'service_unavailable',
  CANCELLED: 'service_unavailable',
  UNKNOWN: 'service_unavailable',
  DATA_LOSS: 'service_unavailable',
};

/** google.rpc.ErrorInfo reasons that are more precise than the status string. */
export const GEMINI_REASON_TABLE: Readonly<Record<string, ErrorClass>> = {
  API_KEY_INVALID: 'api_key_invalid',
  API_KEY_EXPIRED: 'api_key_invalid',
  API_KEY_SERVICE_BLOCKED: 'forbidden',
  API_KEY_HTTP_REFERRER_BLOCKED: 'forbidden',
  API_KEY_IP_ADDRESS_BLOCKED: 'forbidden',
  SERVICE_DISABLED: 'forbidden',
  CONSUMER_SUSPENDED: 'forbidden',
  BILLING_DISABLED: 'credits_exhausted',
  RATE_LIMIT_EXCEEDED: 'rate_limited',
};

const PREPAID_CREDITS_PATTERN = /prepayment credits|credits are depleted|credit balance/i;
const BAD_KEY_PATTERN = /API key not valid|API key expired|invalid API key/i;

function detailsOf(error: unknown): Array<Record<string, unknown>> {
  const details = pick(error, 'details');
  return Array.isArray(details) ? details.filter((d): d is Record<string, unknown> => !!d && typeof d === 'object') : [];
}

export function classifyGeminiError({ status, body }: VendorFailure): VendorVerdict {
  // Streamed errors sometimes arrive as a one-element array of the same object.
  const root = Array.isArray(body) ? body[0] : body;
  const error = pick(root, 'error') ?? root;
  const message = pickString(error, 'message') ?? fallbackMessage(body, status);
  const statusString = pickString(error, 'status');
  const details = detailsOf(error);
  const retryAfterMs = details.map((d) => parseDurationSeconds(d.retryDelay)).find((ms) => ms !== undefined);
  const withHint = (errorClass: ErrorClass): VendorVerdict => ({
    errorClass,
    message,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });

  for (const detail of details) {
    const reason = typeof detail.reason === 'string' ? detail.reason : undefined;
    if (reason && GEMINI_REASON_TABLE[reason]) return withHint(GEMINI_REASON_TABLE[reason]!);
  }
  if (BAD_KEY_PATTERN.test(message)) return withHint('api_key_invalid');
  if (statusString === 'RESOURCE_EXHAUSTED' && PREPAID_CREDITS_PATTERN.test(message)) return withHint('credits_exhausted');
  if ((statusString === 'INVALID_ARGUMENT' || status === 400 || status === undefined) && looksLikeContextLength(message)) {
    return withHint('context_length_exceeded');
  }
  if (statusString && GEMINI_STATUS_TABLE[statusString]) return withHint(GEMINI_STATUS_TABLE[statusString]!);
  const code = pick(error, 'code');
  const numeric = typeof code === 'number' ? code : status;
  if (numeric !== undefined) return withHint(classForStatus(numeric));
  return withHint('service_unavailable');
}
