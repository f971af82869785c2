/**
 * Owns the status-code half of classification: the class an HTTP status implies when the vendor's
 * body says nothing more specific. Vendor error modules consult it last, never first.
 */
import type { ErrorClass } from '@switchyard/shared';

/** Exact statuses first; ranges after. Read top to bottom, first match wins. */
export const STATUS_TABLE: ReadonlyArray<readonly [status: number | readonly [from: number, to: number], errorClass: ErrorClass]> = [
  [400, 'bad_request'],
  [401, 'api_key_invalid'],
  [402, 'credits_exhausted'],
  [403, 'forbidden'],
  [404, 'model_not_found'],
  // 408 is the provider giving up on its own deadline for this request.
  [408, 'timeout'],
  // 409 (lock/conflict) is transient: the vendor SDKs retry it, so the router may back off and retry too.
  [409, 'service_unavailable'],
  // A body too large for this provider may still fit another one's limits: try the next candidate.
  [413, 'context_length_exceeded'],
  [422, 'bad_request'],
  [429, 'rate_limited'],
  // 529 is Anthropic's "overloaded".
  [[500, 599], 'service_unavailable'],
  [[400, 499], 'bad_request'],
];

/** The class a status alone implies. Anything outside 4xx/5xx on a failure path is a wire-format surprise. */
export function classForStatus(status: number): ErrorClass {
  for (const [match, errorClass] of STATUS_TABLE) {
    if (typeof match === 'number' ? status === match : status >= match[0] && status <= match[1]) return errorClass;
  }
  return 'invalid_response';
}
