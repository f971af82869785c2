/**
 * Owns OpenRouter's error vocabulary: `{"error":{"code","message","metadata"}}` where `code` is the
 * HTTP status (400/401/402/403/408/429/502/503 per its docs) or, for some upstream failures, a
 * string. The same shape arrives in-band in a 200 body or a stream chunk. Pure.
 */
import type { ErrorClass } from '@switchyard/shared';
import { classForStatus } from '../classify/status.ts';
import { fallbackMessage, looksLikeContextLength, pick, pickString, type VendorFailure, type VendorVerdict } from '../classify/vendor.ts';
import { OPENAI_CODE_TABLE } from '../openai/errors.ts';

/** OpenRouter's documented numeric codes. 403 is refined below: a moderation flag is content_policy. */
export const OPENROUTER_STATUS_TABLE: Readonly<Record<number, ErrorClass>> = {
  400: 'bad_request',
  401: 'api_key_invalid',
  402: 'credits_exhausted',
  403: 'forbidden',
  404: 'model_not_found',
  408: 'timeout',
  429: 'rate_limited',
  502: 'service_unavailable',
  503: 'service_unavailable',
};

/** String codes seen from OpenRouter and the upstream providers it relays (OpenAI-style codes included). */
export const OPENROUTER_STRING_CODES: Readonly<Record<string, ErrorClass>> = {
  ...OPENAI_CODE_TABLE,
  invalid_model_id: 'model_not_found',
  insufficient_credits: 'credits_exhausted',
  moderation: 'content_policy',
  guardrail_block: 'content_policy',
  provider_error: 'service_unavailable',
  upstream_error: 'service_unavailable',
  timeout: 'timeout',
};

const MODEL_NOT_FOUND_PATTERN = /is not a valid model id|no endpoints found|model .{0,80}(?:does not exist|not found)/i;

export function classifyOpenRouterError({ status, body }: VendorFailure): VendorVerdict {
  const error = pick(body, 'error') ?? body;
  const message = pickString(error, 'message') ?? fallbackMessage(body, status);
  const code = pick(error, 'code');
  const metadata = pick(error, 'metadata');
  if (typeof code === 'string' && OPENROUTER_STRING_CODES[code]) return { errorClass: OPENROUTER_STRING_CODES[code]!, message };
  const numeric = typeof code === 'number' ? code : typeof code === 'string' && /^\d{3}$/.test(code) ? Number(code) : status;
  if (numeric === 403 && (pick(metadata, 'reasons') !== undefined || pick(metadata, 'flagged_input') !== undefined)) {
    return { errorClass: 'content_policy', message };
  }
  if ((numeric === 400 || numeric === undefined) && looksLikeContextLength(message))
    return { errorClass: 'context_length_exceeded', message };
  if ((numeric === 400 || numeric === 404) && MODEL_NOT_FOUND_PATTERN.test(message)) return { errorClass: 'model_not_found', message };
  if (numeric !== undefined) return { errorClass: OPENROUTER_STATUS_TABLE[numeric] ?? classForStatus(numeric), message };
  // In-band without a code: the model failed mid-generation.
  return { errorClass: 'service_unavailable', message };
}
