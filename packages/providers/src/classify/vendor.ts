/**
 * Owns the shape every vendor error module shares: a pure function from (status, parsed body) to one
 * class of the contract, and the wording heuristics several vendors need because they report some
 * conditions only in prose (context length above all).
 */
import type { ErrorClass } from '@switchyard/shared';

export interface VendorFailure {
  /** HTTP status, or undefined for an error carried in-band in a 200 (stream event or body). */
  status: number | undefined;
  /** The parsed JSON body, or the raw text when it was not JSON. */
  body: unknown;
}

export interface VendorVerdict {
  errorClass: ErrorClass;
  /** The vendor's own message, for people; secrets are scrubbed later by ProviderError. */
  message: string;
  /** A back-off hint found in the body (Gemini's RetryInfo), used when no header gives one. */
  retryAfterMs?: number;
}

export type VendorErrorClassifier = (failure: VendorFailure) => VendorVerdict;

/** Wordings vendors use for "the prompt does not fit": OpenAI, OpenRouter, Anthropic, Gemini, vLLM/Ollama-style servers. */
export const CONTEXT_LENGTH_PATTERN =
  /context[_ ]length|context window|maximum context|prompt is too long|too many (?:input )?tokens|input token count.{0,40}exceeds|exceeds the maximum number of tokens|reduce the length of the (?:messages|prompt)|prompt.{0,20}too long/i;

export function looksLikeContextLength(message: string): boolean {
  return CONTEXT_LENGTH_PATTERN.test(message);
}

/** Reads a field path from an unknown JSON value without trusting its shape. */
export function pick(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (!current || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

export function pickString(value: unknown, ...path: string[]): string | undefined {
  const found = pick(value, ...path);
  return typeof found === 'string' ? found : undefined;
}

/** A printable message from a body we could not classify: its text, shortened. */
export function fallbackMessage(body: unknown, status: number | undefined): string {
  if (typeof body === 'string' && body.trim()) return body.trim().slice(0, 300);
  if (body && typeof body === 'object') return JSON.stringify(body).slice(0, 300);
  return status ? `HTTP ${status} with an empty body` : 'error without details';
}
