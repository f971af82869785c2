/**
 * Owns the request side of Anthropic's Messages API: system text goes to the top-level `system`,
 * turns are user/assistant, `max_tokens` is required. No sampling parameters: API version
 * 2026-10-21 (the one the SDK sends) rejects temperature/top_p/top_k with a 400 even at defaults.
 */
import type { ChatRequest } from '../types.ts';

/** Anthropic requires max_tokens; this is used when the job sets none. */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 4096;

export interface AnthropicMessagesBody {
  model: string;
  max_tokens: number;
  messages: Array<{ role: 'user' | 'assistant'; content: string }>;
  system?: string;
  stream?: boolean;
}

export function toMessagesBody(request: ChatRequest, options: { stream: boolean }): AnthropicMessagesBody {
  const system = request.messages
    .filter((m) => m.role === 'system' || m.role === 'developer')
    .map((m) => m.content)
    .join('\n\n');
  const body: AnthropicMessagesBody = {
    model: request.model,
    max_tokens: request.maxTokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS,
    messages: request.messages
      .filter((m) => m.role !== 'system' && m.role !== 'developer')
      // A tool result without its tool_use id is plain context from the user's side.
      .map((m) => ({ role: m.role === 'assistant' ? 'assistant' : 'user', content: m.content })),
  };
  if (system) body.system = system;
  if (options.stream) body.stream = true;
  return body;
}
