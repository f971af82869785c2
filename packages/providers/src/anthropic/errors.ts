/**
 * Owns Anthropic's error vocabulary: `{"type":"error","error":{"type","message","details"?},"request_id"}`
 * with error types (overloaded_error 529, rate_limit_error, ...) and, since API 2026-10-21, stable
 * `details.error_code`s. Context length and an empty credit balance arrive as invalid_request_error
 * and are told apart by wording. The same shape arrives in-band as a stream `error` event. Pure.
 */
import type { ErrorClass } from '@switchyard/shared';
import { classForStatus } from '../classify/status.ts';
import { fallbackMessage, looksLikeContextLength, pick, pickString, type VendorFailure, type VendorVerdict } from '../classify/vendor.ts';

export const ANTHROPIC_TYPE_TABLE: Readonly<Record<string, ErrorClass>> = {
  invalid_request_error: 'bad_request',
  authentication_error: 'api_key_invalid',
  billing_error: 'credits_exhausted',
  permission_error: 'forbidden',
  not_found_error: 'model_not_found',
  request_too_large: 'context_length_exceeded',
  rate_limit_error: 'rate_limited',
  // 504 from Anthropic's gateway: its deadline, not ours; the contract puts 504 under service_unavailable.
  timeout_error: 'service_unavailable',
  api_error: 'service_unavailable',
  overloaded_error: 'service_unavailable',
  conflict_error: 'service_unavailable',
  memory_precondition_failed_error: 'bad_request',
  memory_path_conflict_error: 'bad_request',
};

/** `error.details.error_code` values that name a cause more precisely than the type. */
export const ANTHROPIC_ERROR_CODE_TABLE: Readonly<Record<string, ErrorClass>> = {
  contract_spend_limit_reached: 'credits_exhausted',
  enforced_spend_limit_reached: 'credits_exhausted',
  linked_organization_spend_limit_reached: 'credits_exhausted',
  linked_organization_billing_unavailable: 'credits_exhausted',
  organization_on_hold: 'forbidden',
  organization_type_not_supported: 'forbidden',
  ramp_limit_exceeded: 'rate_limited',
  request_body_too_large_after_decoding: 'context_length_exceeded',
  request_body_encoding_invalid: 'bad_request',
  request_body_encoding_unsupported: 'bad_request',
};

const CREDIT_BALANCE_PATTERN = /credit balance is too low|insufficient credit|spend limit/i;
const CONTENT_FILTER_PATTERN = /content filtering policy|blocked by content|usage policy/i;

export function classifyAnthropicError({ status, body }: VendorFailure): VendorVerdict {
  const error = pick(body, 'error') ?? body;
  const message = pickString(error, 'message') ?? fallbackMessage(body, status);
  const type = pickString(error, 'type');
  const errorCode = pickString(error, 'details', 'error_code');
  if (errorCode && ANTHROPIC_ERROR_CODE_TABLE[errorCode]) return { errorClass: ANTHROPIC_ERROR_CODE_TABLE[errorCode]!, message };
  if (type === 'invalid_request_error' || (type === undefined && status === 400)) {
    if (looksLikeContextLength(message)) return { errorClass: 'context_length_exceeded', message };
    if (CREDIT_BALANCE_PATTERN.test(message)) return { errorClass: 'credits_exhausted', message };
    if (CONTENT_FILTER_PATTERN.test(message)) return { errorClass: 'content_policy', message };
  }
  if (type && ANTHROPIC_TYPE_TABLE[type]) return { errorClass: ANTHROPIC_TYPE_TABLE[type]!, message };
  if (status === undefined) return { errorClass: 'service_unavailable', message };
  return { errorClass: classForStatus(status), message };
}
