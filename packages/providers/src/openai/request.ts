/**
 * Owns the request side of the OpenAI chat-completions wire format (createChatCompletion), in the two
 * dialects we speak: OpenAI itself and OpenRouter (which takes `max_tokens` and no `developer` role).
 */
import type { ChatMessage, ChatRequest } from '../types.ts';

export type OpenAIDialect = 'openai' | 'openrouter';

type WireRole = 'system' | 'developer' | 'user' | 'assistant';

function wireRole(role: ChatMessage['role'], dialect: OpenAIDialect): WireRole {
  // A `tool` message needs a tool_call_id we do not carry; as plain text it is user-supplied context.
  if (role === 'tool') return 'user';
  if (role === 'developer' && dialect === 'openrouter') return 'system';
  return role;
}

export function toChatCompletionBody(request: ChatRequest, options: { dialect: OpenAIDialect; stream: boolean }): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: request.model,
    messages: request.messages.map((m) => {
      const role = wireRole(m.role, options.dialect);
      return m.name && role !== 'developer' ? { role, content: m.content, name: m.name } : { role, content: m.content };
    }),
  };
  if (request.maxTokens !== undefined) {
    // OpenAI deprecated max_tokens (o-series models reject it); OpenRouter documents max_tokens.
    body[options.dialect === 'openai' ? 'max_completion_tokens' : 'max_tokens'] = request.maxTokens;
  }
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.topP !== undefined) body.top_p = request.topP;
  if (options.stream) {
    body.stream = true;
    // Usage arrives in one extra chunk before [DONE]; without it a streamed job reports no tokens.
    body.stream_options = { include_usage: true };
  }
  return body;
}
