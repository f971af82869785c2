/**
 * The error-class table of CONTRACT.md: every failed provider call is exactly one of these,
 * and the class alone decides what the breaker, the router and the queue do next.
 */

export const ERROR_CLASSES = [
  'api_key_invalid',
  'forbidden',
  'credits_exhausted',
  'rate_limited',
  'model_not_found',
  'context_length_exceeded',
  'bad_request',
  'content_policy',
  'service_unavailable',
  'timeout',
  'network_error',
  'invalid_response',
  'aborted',
  'no_provider_available',
  'budget_exhausted',
] as const;

export type ErrorClass = (typeof ERROR_CLASSES)[number];

export interface ClassPolicy {
  /** Counts toward the fleet-wide circuit breaker's consecutive failures. */
  countsTowardBreaker: boolean;
  /** The same provider may be tried again within the job's budget (after backoff or cooldown). */
  retrySameProvider: boolean;
  /** The next candidate (fallback) may be tried. False means the job fails now. */
  tryNextCandidate: boolean;
  /** A job that ends with this class is not retried by the queue (BullMQ UnrecoverableError). */
  permanent: boolean;
}

const policy = (countsTowardBreaker: boolean, retrySameProvider: boolean, tryNextCandidate: boolean, permanent: boolean): ClassPolicy => ({
  countsTowardBreaker,
  retrySameProvider,
  tryNextCandidate,
  permanent,
});

export const CLASS_POLICY: Readonly<Record<ErrorClass, ClassPolicy>> = {
  api_key_invalid: policy(true, false, true, false),
  forbidden: policy(true, false, true, false),
  credits_exhausted: policy(true, false, true, false),
  rate_limited: policy(false, true, true, false),
  model_not_found: policy(false, false, true, true),
  context_length_exceeded: policy(false, false, true, true),
  bad_request: policy(false, false, false, true),
  content_policy: policy(false, false, false, true),
  service_unavailable: policy(true, true, true, false),
  timeout: policy(true, false, true, false),
  network_error: policy(true, false, true, false),
  invalid_response: policy(true, false, true, false),
  aborted: policy(false, false, false, true),
  no_provider_available: policy(false, false, false, false),
  // Job-level: the client's deadline has passed, so no queue-level retry can still answer in time.
  budget_exhausted: policy(false, false, false, true),
};

export const PROVIDER_STATES = [
  'active',
  'api_key_invalid',
  'credits_exhausted',
  'rate_limited',
  'service_unavailable',
  'timeout',
  'network_error',
  'unknown',
] as const;

export type ProviderState = (typeof PROVIDER_STATES)[number];

/**
 * The provider state a classified failure implies, or null when the failure says nothing about
 * the provider's health (a bad request, our own abort, an unknown model).
 */
export function stateForClass(errorClass: ErrorClass): ProviderState | null {
  switch (errorClass) {
    case 'api_key_invalid':
    case 'forbidden':
      return 'api_key_invalid';
    case 'credits_exhausted':
      return 'credits_exhausted';
    case 'rate_limited':
      return 'rate_limited';
    case 'service_unavailable':
    case 'invalid_response':
      return 'service_unavailable';
    case 'timeout':
      return 'timeout';
    case 'network_error':
      return 'network_error';
    default:
      return null;
  }
}

export function isErrorClass(value: unknown): value is ErrorClass {
  return typeof value === 'string' && (ERROR_CLASSES as readonly string[]).includes(value);
}
