/**
 * Owns `mock/echo`: an in-process provider with zero I/O that echoes the last user message (word by
 * word to onToken when streaming). It is what the queue-throughput benchmark measures, so the plain
 * path stays synchronous and allocation-light. It also understands the mock server's `[[mock:...]]`
 * directives, turning them into the classes the HTTP adapters would produce for the same fault, so
 * router and worker tests can exercise failures without a server.
 */
import type { ErrorClass } from '@switchyard/shared';
import { parseRetryAfter } from '../classify/retry-after.ts';
import { classForStatus } from '../classify/status.ts';
import { delayFor, type ErrorKind, extractDirective, type Fault, FaultSyntaxError, parseFault } from '../mock-server/faults.ts';
import { countTokens, LOREM, wordChunks } from '../mock-server/wire/common.ts';
import { ProviderError } from '../provider-error.ts';
import { runAttempt, tokenSink } from '../transport/attempt.ts';
import type { CallOptions, ChatRequest, ChatResult } from '../types.ts';

/** What each server-side error kind becomes at an adapter (the OpenAI-wire classification). */
export const ECHO_KIND_CLASS: Readonly<Record<ErrorKind, ErrorClass>> = {
  bad_request: 'bad_request',
  context_length: 'context_length_exceeded',
  content_policy: 'content_policy',
  model_not_found: 'model_not_found',
  auth: 'api_key_invalid',
  forbidden: 'forbidden',
  credits: 'credits_exhausted',
  rate_limit: 'rate_limited',
  timeout: 'timeout',
  server: 'service_unavailable',
  bad_gateway: 'service_unavailable',
  unavailable: 'service_unavailable',
  gateway_timeout: 'service_unavailable',
  overloaded: 'service_unavailable',
};

function lastUserText(request: ChatRequest): string {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const m = request.messages[i]!;
    if (m.role === 'user') return m.content;
  }
  return '';
}

function promptTokens(request: ChatRequest): number {
  let n = 0;
  for (const m of request.messages) n += countTokens(m.content);
  return n;
}

function result(request: ChatRequest, text: string): ChatResult {
  const prompt = promptTokens(request);
  const completion = countTokens(text);
  return {
    content: text,
    finishReason: 'stop',
    usage: { promptTokens: prompt, completionTokens: completion, totalTokens: prompt + completion },
    model: 'echo',
  };
}

function fail(errorClass: ErrorClass, message: string, extra: { status?: number; retryAfterMs?: number } = {}): ProviderError {
  return new ProviderError({ errorClass, provider: 'mock', message: `mock: ${message}`, ...extra });
}

function waitFor(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Acts out a directive in-process. Runs inside runAttempt, so abort and deadline behave as over HTTP. */
async function withFault(request: ChatRequest, options: CallOptions, text: string, fault: Fault, signal: AbortSignal): Promise<ChatResult> {
  const emit = tokenSink('mock', options.onToken);
  await waitFor(delayFor(fault, Math.random), signal);
  // After our abort or deadline the attempt has already settled: nothing more may reach the caller.
  if (signal.aborted) return new Promise<never>(() => {});
  if (fault.hang) return new Promise<never>(() => {});
  if (fault.reset) throw fail('network_error', 'connection reset (directive)');
  if (fault.status !== undefined || fault.error !== undefined) {
    const errorClass = fault.error ? ECHO_KIND_CLASS[fault.error] : classForStatus(fault.status!);
    const retryAfterMs = parseRetryAfter({ 'retry-after': fault.retryAfter, 'retry-after-ms': fault.retryAfterMs });
    return Promise.reject(
      fail(errorClass, `${fault.error ?? `HTTP ${fault.status}`} (directive)`, {
        ...(fault.status !== undefined ? { status: fault.status } : {}),
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      }),
    );
  }
  if (fault.malformed) throw fail('invalid_response', 'malformed answer (directive)');
  const reply = fault.words !== undefined ? Array.from({ length: fault.words }, (_, i) => LOREM[i % LOREM.length]).join(' ') : text || 'ok';
  const chunks = wordChunks(reply);
  const streaming = options.onToken !== undefined;
  const stopAt = fault.cut ?? fault.eof ?? fault.hangAfter ?? (fault.inband ? 1 : undefined);
  for (let i = 0; i < chunks.length && (stopAt === undefined || i < stopAt); i++) {
    if (signal.aborted) return new Promise<never>(() => {});
    if (streaming) emit(chunks[i]!);
    if (fault.slowMs) await waitFor(fault.slowMs, signal);
    if (signal.aborted) return new Promise<never>(() => {});
  }
  if (fault.inband) throw fail('service_unavailable', 'in-band error (directive)');
  if (fault.cut !== undefined) throw fail('network_error', 'stream cut (directive)');
  if (fault.eof !== undefined) throw fail('invalid_response', 'stream ended before its terminator (directive)');
  if (fault.hangAfter !== undefined) return new Promise<never>(() => {});
  return result(request, reply);
}

export function echoChat(request: ChatRequest, options: CallOptions, defaultTimeoutMs: number): Promise<ChatResult> {
  if (options.signal.aborted) return Promise.reject(fail('aborted', 'call aborted by the caller'));
  const { spec, text } = extractDirective(lastUserText(request));
  if (spec === undefined) {
    // The benchmark path: no timers, no promises beyond the one returned.
    const reply = text || 'ok';
    if (options.onToken) {
      try {
        const emit = tokenSink('mock', options.onToken);
        for (const chunk of wordChunks(reply)) {
          emit(chunk);
          if (options.signal.aborted) return Promise.reject(fail('aborted', 'call aborted by the caller'));
        }
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return Promise.resolve(result(request, reply));
  }
  let fault: Fault;
  try {
    fault = parseFault(spec);
  } catch (err) {
    return Promise.reject(fail('bad_request', err instanceof FaultSyntaxError ? err.message : 'bad directive'));
  }
  return runAttempt(
    { provider: 'mock', signal: options.signal, timeoutMs: options.timeoutMs ?? defaultTimeoutMs },
    (signal) => withFault(request, options, text, fault, signal),
    (err) => (err instanceof ProviderError ? err : fail('invalid_response', String(err))),
  );
}
