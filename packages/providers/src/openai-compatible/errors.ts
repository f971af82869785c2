/**
 * Owns the error vocabulary of OpenAI-compatible servers: OpenAI's shape and codes where they copy
 * it (Groq, Together, DeepSeek, llama.cpp), vLLM's and Mistral's top-level `{"object":"error",
 * "message","type","code"}`, and a numeric `code` that is the HTTP status when the error arrives
 * in-band (a stream event) without one. Pure.
 */
import { classForStatus } from '../classify/status.ts';
import { pick, type VendorFailure, type VendorVerdict } from '../classify/vendor.ts';
import { classifyOpenAIError } from '../openai/errors.ts';

export function classifyOpenAICompatibleError(failure: VendorFailure): VendorVerdict {
  const verdict = classifyOpenAIError(failure);
  if (failure.status !== undefined) return verdict;
  // In-band, OpenAI's classifier can only say service_unavailable; a numeric code is the real status.
  const code = pick(pick(failure.body, 'error') ?? failure.body, 'code');
  const status = typeof code === 'number' ? code : typeof code === 'string' && /^\d{3}$/.test(code) ? Number(code) : undefined;
  if (verdict.errorClass === 'service_unavailable' && status !== undefined && status >= 400 && status <= 599) {
    return { ...verdict, errorClass: classForStatus(status) };
  }
  return verdict;
}
