/**
 * Owns the contract between the mock server's core (routing, faults, stats, socket control) and the
 * per-vendor wire formats it speaks: each format parses its chat request and renders success,
 * streams, its real error bodies and its in-band and malformed variants.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ErrorKind } from '../faults.ts';

export interface ChatCall {
  /** Route prefix: openai, openrouter, anthropic, gemini, ollama, mock. */
  provider: string;
  model: string;
  stream: boolean;
  /** OpenAI stream_options.include_usage. */
  includeUsage: boolean;
  /** The last user message, directive included. */
  lastUser: string;
  promptTokens: number;
  /** The credential presented, for the masked echoes some vendors put in error messages. */
  apiKey?: string;
}

export interface Reply {
  text: string;
  /** The text cut into stream chunks (word by word); joined they equal `text`. */
  chunks: string[];
  promptTokens: number;
  completionTokens: number;
}

export interface Rendered {
  status: number;
  headers?: Record<string, string>;
  body: string;
  contentType?: string;
}

/** A stream in three parts so faults can cut it at the right place. */
export interface StreamPlan {
  contentType: string;
  /** Frames before any content (role chunk, message_start, keep-alive comments). */
  prelude: string[];
  /** One frame per content chunk. */
  content: string[];
  /** Frames that make the stream complete (finish_reason + [DONE], message_stop, done:true). */
  terminator: string[];
}

export interface ChatInput {
  provider: string;
  body: unknown;
  headers: IncomingHttpHeaders;
  query: URLSearchParams;
  /** Gemini names the model in the path. */
  pathModel?: string;
  /** Gemini names streaming in the path. */
  pathStream?: boolean;
}

export interface ErrorContext {
  model?: string;
  apiKey?: string;
}

export interface WireFormat {
  /** Missing credentials or version headers: the vendor's real answer, or undefined when fine. */
  checkAuth(headers: IncomingHttpHeaders, query: URLSearchParams): Rendered | undefined;
  /** The chat request, or the vendor's 400 for a body it would reject. */
  parseChat(input: ChatInput): ChatCall | Rendered;
  completion(call: ChatCall, reply: Reply): Rendered;
  stream(call: ChatCall, reply: Reply): StreamPlan;
  /** The vendor's real error for `kind`, with the status it really uses. */
  error(kind: ErrorKind, context: ErrorContext): Rendered;
  /** A 200 that carries an error: whole body when not streaming, one frame when streaming. */
  inband(call: ChatCall): { body: Rendered; frame: string };
  /** A body / a frame that is not JSON. */
  malformed(call: ChatCall): { body: Rendered; frame: string };
  models(query: URLSearchParams): Rendered;
}

export function isRendered(value: ChatCall | Rendered): value is Rendered {
  return typeof (value as Rendered).status === 'number' && typeof (value as Rendered).body === 'string';
}
