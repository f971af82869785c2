/**
 * Owns the request side of Ollama's /api/chat: OpenAI-like messages, `stream` explicit (Ollama
 * streams by default), limits under `options` (num_predict, temperature, top_p).
 */
import type { ChatRequest } from '../types.ts';

export interface OllamaChatBody {
  model: string;
  messages: Array<{ role: 'system' | 'user' | 'assistant'; content: string }>;
  stream: boolean;
  options?: { num_predict?: number; temperature?: number; top_p?: number };
}

export function toOllamaChatBody(request: ChatRequest, options: { stream: boolean }): OllamaChatBody {
  const body: OllamaChatBody = {
    model: request.model,
    messages: request.messages.map((m) => ({
      role: m.role === 'developer' ? 'system' : m.role === 'tool' ? 'user' : m.role,
      content: m.content,
    })),
    stream: options.stream,
  };
  const modelOptions: NonNullable<OllamaChatBody['options']> = {};
  if (request.maxTokens !== undefined) modelOptions.num_predict = request.maxTokens;
  if (request.temperature !== undefined) modelOptions.temperature = request.temperature;
  if (request.topP !== undefined) modelOptions.top_p = request.topP;
  if (Object.keys(modelOptions).length > 0) body.options = modelOptions;
  return body;
}
