/**
 * Owns the request side of the OpenAI chat-completions wire format (createChatCompletion), in each
 * dialect an OpenAI-shaped kind speaks: OpenAI itself, OpenRouter and other OpenAI-compatible
 * servers (which take `max_tokens` and no `developer` role), and Azure OpenAI (whose URL names the
 * model, and whose API version decides what the body may carry).
 */
import type { ChatMessage, ChatRequest } from '../types.ts';

/** What a server of this kind accepts in a chat-completions body. */
export interface OpenAIDialect {
  /** Sends the `developer` role as is; otherwise as `system`, which every server knows. */
  developerRole: boolean;
  /** OpenAI deprecated max_tokens (o-series models reject it); most other servers know only max_tokens. */
  maxTokensField: 'max_completion_tokens' | 'max_tokens';
  /** Asks for usage in streams (`stream_options.include_usage`); servers that predate it reject the field. */
  streamUsage: boolean;
  /** Azure names the model (its deployment) in the URL; the body then carries none. */
  modelInBody: boolean;
}

export const OPENAI_DIALECT: OpenAIDialect = {
  developerRole: true,
  maxTokensField: 'max_completion_tokens',
  streamUsage: true,
  modelInBody: true,
};

/** OpenRouter documents max_tokens and no developer role. */
export const OPENROUTER_DIALECT: OpenAIDialect = {
  developerRole: false,
  maxTokensField: 'max_tokens',
  streamUsage: true,
  modelInBody: true,
};

/**
 * Any server speaking OpenAI's chat completions (vLLM, llama.cpp, LM Studio, Groq, Together, ...):
 * the common subset. `developer` is unknown to many chat templates; max_tokens is known to all.
 */
export const COMPATIBLE_DIALECT: OpenAIDialect = {
  developerRole: false,
  maxTokensField: 'max_tokens',
  streamUsage: true,
  modelInBody: true,
};

type WireRole = 'system' | 'developer' | 'user' | 'assistant';

function wireRole(role: ChatMessage['role'], dialect: OpenAIDialect): WireRole {
  // A `tool` message needs a tool_call_id we do not carry; as plain text it is user-supplied context.
  if (role === 'tool') return 'user';
  if (role === 'developer' && !dialect.developerRole) return 'system';
  return role;
}

export function toChatCompletionBody(request: ChatRequest, options: { dialect: OpenAIDialect; stream: boolean }): Record<string, unknown> {
  const { dialect } = options;
  const body: Record<string, unknown> = {};
  if (dialect.modelInBody) body.model = request.model;
  body.messages = request.messages.map((m) => {
    const role = wireRole(m.role, dialect);
    return m.name && role !== 'developer' ? { role, content: m.content, name: m.name } : { role, content: m.content };
  });
  if (request.maxTokens !== undefined) body[dialect.maxTokensField] = request.maxTokens;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.topP !== undefined) body.top_p = request.topP;
  if (options.stream) {
    body.stream = true;
    // Usage arrives in one extra chunk before [DONE]; without it a streamed job reports no tokens.
    if (dialect.streamUsage) body.stream_options = { include_usage: true };
  }
  return body;
}
