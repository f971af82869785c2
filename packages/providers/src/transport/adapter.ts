/**
 * Owns the part every adapter shares: choosing stream or not, the attempt (abort, deadline, classes),
 * the outcome log line, and the probe wrapper. A provider folder supplies only its wire format.
 */
import type { DeploymentKind, Logger } from '@switchyard/shared';
import { ProviderError } from '../provider-error.ts';
import type { CallOptions, ChatRequest, ChatResult, ProbeResult, ProviderAdapter } from '../types.ts';
import { runAttempt, type ThrownClassifier, tokenSink } from './attempt.ts';
import { logCall } from './log.ts';
import { type ProbeCheck, runProbe } from './probe.ts';

export interface WireCall {
  request: ChatRequest;
  /** The attempt's signal: fires on the caller's abort and on the deadline. Pass it to the transport. */
  signal: AbortSignal;
  timeoutMs: number;
  /** Text deltas for the caller; set only for streaming calls. */
  emit: (delta: string) => void;
}

export interface AdapterSpec {
  provider: DeploymentKind;
  models: readonly string[];
  defaultTimeoutMs: number;
  logger?: Logger | undefined;
  /** Maps what the transport throws (SDK errors, fetch errors) to a ProviderError. */
  classify: ThrownClassifier;
  complete(call: WireCall): Promise<ChatResult>;
  stream(call: WireCall): Promise<ChatResult>;
  probe(signal: AbortSignal, timeoutMs: number): ReturnType<ProbeCheck>;
}

const ROLES = new Set(['system', 'user', 'assistant', 'tool', 'developer']);

/**
 * A request our own caller got wrong is `bad_request` before anything is sent; left to the mapping
 * code it would surface as a TypeError and be mistaken for a provider fault.
 */
export function checkRequest(provider: DeploymentKind, request: ChatRequest): ProviderError | undefined {
  const problem =
    !request || typeof request !== 'object'
      ? 'no request'
      : typeof request.model !== 'string' || !request.model
        ? 'model must be a non-empty string'
        : !Array.isArray(request.messages) || request.messages.length === 0
          ? 'messages must be a non-empty array'
          : request.messages.some((m) => !m || !ROLES.has(m.role) || typeof m.content !== 'string')
            ? 'every message needs a known role and string content'
            : undefined;
  return problem
    ? new ProviderError({ errorClass: 'bad_request', provider, message: `${provider}: invalid request: ${problem}` })
    : undefined;
}

export function defineAdapter(spec: AdapterSpec): ProviderAdapter {
  const { provider } = spec;
  return {
    provider,
    models: spec.models,
    async chat(request: ChatRequest, options: CallOptions): Promise<ChatResult> {
      const startedAt = performance.now();
      const timeoutMs = options.timeoutMs ?? spec.defaultTimeoutMs;
      const streaming = options.onToken !== undefined;
      const emit = tokenSink(provider, options.onToken);
      const fields = { provider, model: request?.model, startedAt, stream: streaming };
      try {
        const invalid = checkRequest(provider, request);
        if (invalid) throw invalid;
        const result = await runAttempt(
          { provider, signal: options.signal, timeoutMs },
          (signal) =>
            (streaming ? spec.stream : spec.complete)({
              request,
              signal,
              timeoutMs,
              // Once the attempt has ended (abort, deadline) not one more token reaches the caller, even
              // from events already buffered in the chunk being parsed; throwing also stops that parsing.
              emit: (delta) => {
                if (signal.aborted) throw new Error('attempt already ended');
                emit(delta);
              },
            }),
          spec.classify,
        );
        logCall(spec.logger, fields);
        return result;
      } catch (err) {
        logCall(spec.logger, fields, err);
        throw err;
      }
    },
    probe(options: { signal?: AbortSignal; timeoutMs: number }): Promise<ProbeResult> {
      return runProbe(provider, options, (signal) => spec.probe(signal, options.timeoutMs), spec.classify);
    },
  };
}
