/**
 * Owns OpenAI's error vocabulary: `{"error":{"message","type","param","code"}}` with stable codes
 * (context_length_exceeded, insufficient_quota, ...) mapped to the contract's classes. Pure.
 */
import type { ErrorClass } from '@switchyard/shared';
import { classForStatus } from '../classify/status.ts';
import { fallbackMessage, looksLikeContextLength, pick, pickString, type VendorFailure, type VendorVerdict } from '../classify/vendor.ts';

/** `error.code` (and a few `error.type` values) to class. Codes win over the status: 429 insufficient_quota is credits, not a rate limit. */
export const OPENAI_CODE_TABLE: Readonly<Record<string, ErrorClass>> = {
  context_length_exceeded: 'context_length_exceeded',
  string_above_max_length: 'context_length_exceeded',
  content_policy_violation: 'content_policy',
  content_filter: 'content_policy',
  invalid_model: 'model_not_found',
  model_not_found: 'model_not_found',
  invalid_model_id: 'model_not_found',
  model_not_available: 'service_unavailable',
  insufficient_quota: 'credits_exhausted',
  billing_hard_limit_reached: 'credits_exhausted',
  billing_not_active: 'credits_exhausted',
  invalid_api_key: 'api_key_invalid',
  invalid_authentication: 'api_key_invalid',
  account_deactivated: 'forbidden',
  unsupported_country_region_territory: 'forbidden',
  rate_limit_exceeded: 'rate_limited',
  server_error: 'service_unavailable',
  server_is_overloaded: 'service_unavailable',
  engine_overloaded: 'service_unavailable',
};

export const OPENAI_TYPE_TABLE: Readonly<Record<string, ErrorClass>> = {
  insufficient_quota: 'credits_exhausted',
  authentication_error: 'api_key_invalid',
  permission_error: 'forbidden',
  rate_limit_error: 'rate_limited',
  server_error: 'service_unavailable',
};

export function classifyOpenAIError({ status, body }: VendorFailure): VendorVerdict {
  const error = pick(body, 'error') ?? body;
  const message = pickString(error, 'message') ?? fallbackMessage(body, status);
  const code = pick(error, 'code');
  const type = pickString(error, 'type');
  const byCode = typeof code === 'string' ? OPENAI_CODE_TABLE[code] : undefined;
  if (byCode) return { errorClass: byCode, message };
  const byType = type ? OPENAI_TYPE_TABLE[type] : undefined;
  if (byType) return { errorClass: byType, message };
  if ((status === undefined || status === 400) && looksLikeContextLength(message))
    return { errorClass: 'context_length_exceeded', message };
  // An in-band error without a recognised code is the provider failing mid-answer.
  if (status === undefined) return { errorClass: 'service_unavailable', message };
  return { errorClass: classForStatus(status), message };
}
