/**
 * The adapter contract: what every provider folder implements, so the router can treat OpenAI,
 * Anthropic, Gemini, Ollama, OpenRouter and the mock alike.
 */
import type { AbortSignalLike, DeploymentKind, ErrorClass, ProviderState } from '@switchyard/shared';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool' | 'developer';
  content: string;
  name?: string;
}

export interface ChatRequest {
  /** The provider's own model id (without the `provider/` prefix). */
  model: string;
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
  /** Nucleus sampling, 0-1. */
  topP?: number;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** What the vendor says the call cost, in dollars (OpenRouter's `usage.cost`); it wins over a configured price. */
  costUsd?: number;
}

export interface ChatResult {
  content: string;
  /** Normalised to OpenAI's vocabulary: stop, length, content_filter, tool_calls. */
  finishReason: string;
  usage: Usage;
  /** The model the provider says answered. */
  model: string;
}

export interface CallOptions {
  /**
   * Aborting it must close the upstream connection at once and reject with class `aborted`. A real
   * AbortSignal or the router's cheaper LightAbortController signal: transports get one of their own.
   */
  signal: AbortSignalLike;
  /** When given, the call streams and this receives each text delta as it arrives. */
  onToken?: (delta: string) => void;
  /** Per-attempt deadline; missing it rejects with class `timeout`. */
  timeoutMs?: number;
}

export interface ProbeResult {
  state: ProviderState;
  latencyMs: number;
  /** Class and secret-free message when the probe failed. */
  error?: { class: ErrorClass; message: string };
  /** OpenRouter: remaining credits where the key endpoint says. */
  credits?: { remaining: number | null; limit: number | null; usage: number | null };
}

export interface ProviderAdapter {
  readonly provider: DeploymentKind;
  /** Models this adapter knows of, for GET /v1/models (without the prefix). */
  readonly models: readonly string[];
  /** Rejects only with ProviderError. */
  chat(request: ChatRequest, options: CallOptions): Promise<ChatResult>;
  /** One attempt, short deadline, no retries. Never rejects. */
  probe(options: { signal?: AbortSignal; timeoutMs: number }): Promise<ProbeResult>;
}
