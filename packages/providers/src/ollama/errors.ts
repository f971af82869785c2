/**
 * Owns Ollama's error vocabulary: `{"error":"<text>"}` with an HTTP status (404 for a model that is
 * not pulled, 400 for a bad request, 500/503 for a failing or busy server), and the same object as a
 * line in a stream. Pure.
 */
import { classForStatus } from '../classify/status.ts';
import { fallbackMessage, looksLikeContextLength, pickString, type VendorFailure, type VendorVerdict } from '../classify/vendor.ts';

const MODEL_MISSING_PATTERN = /model .{0,120}not found|try pulling it first|pull model manifest|file does not exist/i;

export function classifyOllamaError({ status, body }: VendorFailure): VendorVerdict {
  const message = pickString(body, 'error') ?? fallbackMessage(body, status);
  if (MODEL_MISSING_PATTERN.test(message)) return { errorClass: 'model_not_found', message };
  if (looksLikeContextLength(message)) return { errorClass: 'context_length_exceeded', message };
  if (status === undefined) return { errorClass: 'service_unavailable', message };
  return { errorClass: classForStatus(status), message };
}
