/**
 * Owns the part every adapter shares: choosing stream or not, the attempt (abort, deadline, classes),
 * the outcome log line, and the probe wrapper. A provider folder supplies only its wire format.
 */
import type { Logger, ProviderName } from '@switchyard/shared';
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
  provider: ProviderName;
  models: readonly string[];
  defaultTimeoutMs: number;
  logger?: Logger | undefined;
  /** Maps what the transport throws (SDK errors, fetch errors) to a ProviderError. */
  classify: ThrownClassifier;
  complete(call: WireCall): Promise<ChatResult>;
  stream(call: WireCall): Promise<ChatResult>;
  probe(signal: AbortSignal, timeoutMs: number): ReturnType<ProbeCheck>;
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
      const fields = { provider, model: request.model, startedAt, stream: streaming };
      try {
        const result = await runAttempt(
          { provider, signal: options.signal, timeoutMs },
          (signal) => (streaming ? spec.stream : spec.complete)({ request, signal, timeoutMs, emit }),
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
