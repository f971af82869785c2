/**
 * Owns the mock's Anthropic Messages API wire format: `message` objects, named SSE events
 * (message_start ... message_stop), `{"type":"error","error":{...}}` bodies with Anthropic's real
 * error types and statuses (overloaded_error is 529), the anthropic-version requirement, and the
 * 2026-10-21 rule that sampling parameters are rejected.
 */
import type { ErrorKind } from '../faults.ts';
import { countTokens, header, json, randomId, textOf } from './common.ts';
import type { ErrorContext, Rendered, WireFormat } from './types.ts';

const MODELS = ['claude-sonnet-5-5', 'claude-haiku-5-5', 'claude-opus-5-5', 'claude-sonnet-4-6', 'claude-haiku-4-5'];

function event(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

function anthropicError(kind: ErrorKind, ctx: ErrorContext): Rendered {
  const e = (status: number, type: string, message: string, headers?: Record<string, string>) =>
    json(status, { type: 'error', error: { type, message }, request_id: randomId('req_', 12) }, headers);
  switch (kind) {
    case 'bad_request':
      return e(400, 'invalid_request_error', 'messages: Input should be a valid list');
    case 'context_length':
      return e(400, 'invalid_request_error', 'prompt is too long: 215000 tokens > 200000 maximum');
    case 'content_policy':
      return e(400, 'invalid_request_error', 'Output blocked by content filtering policy');
    case 'model_not_found':
      return e(404, 'not_found_error', `model: ${ctx.model ?? 'unknown'}`);
    case 'auth':
      return e(401, 'authentication_error', 'invalid x-api-key');
    case 'forbidden':
      return e(403, 'permission_error', 'Your API key does not have permission to use the specified resource.');
    case 'credits':
      return e(
        400,
        'invalid_request_error',
        'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.',
      );
    case 'rate_limit':
      return e(
        429,
        'rate_limit_error',
        'This request would exceed the rate limit for your organization of 50 requests per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits.',
        {
          'anthropic-ratelimit-requests-limit': '50',
          'anthropic-ratelimit-requests-remaining': '0',
          'anthropic-ratelimit-requests-reset': new Date(Date.now() + 1000).toISOString(),
        },
      );
    case 'timeout':
    case 'gateway_timeout':
      return e(504, 'timeout_error', 'Request timed out');
    case 'server':
      return e(500, 'api_error', 'Internal server error');
    case 'bad_gateway':
      return e(502, 'api_error', 'Bad gateway');
    case 'unavailable':
      return e(503, 'api_error', 'Service unavailable');
    case 'overloaded':
      return e(529, 'overloaded_error', 'Overloaded');
  }
}

export function anthropicWire(): WireFormat {
  return {
    checkAuth(headers) {
      const key = header(headers, 'x-api-key') ?? header(headers, 'authorization');
      if (!key)
        return json(401, {
          type: 'error',
          error: { type: 'authentication_error', message: 'x-api-key header is required' },
          request_id: randomId('req_'),
        });
      if (!header(headers, 'anthropic-version')) {
        return json(400, {
          type: 'error',
          error: { type: 'invalid_request_error', message: 'anthropic-version: header is required' },
          request_id: randomId('req_'),
        });
      }
      return undefined;
    },

    parseChat({ provider, body, headers }) {
      const b = (body ?? {}) as Record<string, unknown>;
      const invalid = (message: string) =>
        json(400, { type: 'error', error: { type: 'invalid_request_error', message }, request_id: randomId('req_') });
      if (typeof b.model !== 'string' || !b.model) return invalid('model: Field required');
      if (typeof b.max_tokens !== 'number') return invalid('max_tokens: Field required');
      const messages = Array.isArray(b.messages) ? (b.messages as Array<Record<string, unknown>>) : undefined;
      if (!messages || messages.length === 0) return invalid('messages: at least one message is required');
      if (header(headers, 'anthropic-version') === '2026-10-21') {
        for (const name of ['temperature', 'top_p', 'top_k']) if (name in b) return invalid(`${name}: Extra inputs are not permitted`);
      }
      const users = messages.filter((m) => m.role === 'user');
      const apiKey = header(headers, 'x-api-key');
      return {
        provider,
        model: b.model,
        stream: b.stream === true,
        includeUsage: true,
        lastUser: textOf(users[users.length - 1]?.content),
        promptTokens:
          messages.reduce((n, m) => n + countTokens(textOf(m.content)), 0) + (typeof b.system === 'string' ? countTokens(b.system) : 0),
        ...(apiKey ? { apiKey } : {}),
      };
    },

    completion(call, reply) {
      return json(200, {
        id: randomId('msg_', 12),
        type: 'message',
        role: 'assistant',
        model: call.model,
        content: [{ type: 'text', text: reply.text }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage: { input_tokens: reply.promptTokens, output_tokens: reply.completionTokens },
      });
    },

    stream(call, reply) {
      const prelude = [
        event('message_start', {
          type: 'message_start',
          message: {
            id: randomId('msg_', 12),
            type: 'message',
            role: 'assistant',
            model: call.model,
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: { input_tokens: reply.promptTokens, output_tokens: 1 },
          },
        }),
        event('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
        event('ping', { type: 'ping' }),
      ];
      const content = reply.chunks.map((text) =>
        event('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }),
      );
      const terminator = [
        event('content_block_stop', { type: 'content_block_stop', index: 0 }),
        event('message_delta', {
          type: 'message_delta',
          delta: { stop_reason: 'end_turn', stop_sequence: null },
          usage: { output_tokens: reply.completionTokens },
        }),
        event('message_stop', { type: 'message_stop' }),
      ];
      return { contentType: 'text/event-stream', prelude, content, terminator };
    },

    error: anthropicError,

    inband() {
      const error = { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } };
      return { body: json(200, error), frame: event('error', error) };
    },

    malformed() {
      return {
        body: { status: 200, contentType: 'application/json', body: '{"id":"msg_mock","type":"message","content":[{"type":"text","text":' },
        frame: 'event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"text":\n\n',
      };
    },

    models() {
      return json(200, {
        data: MODELS.map((id) => ({ type: 'model', id, display_name: id, created_at: '2025-09-29T00:00:00Z' })),
        has_more: false,
        first_id: MODELS[0],
        last_id: MODELS[MODELS.length - 1],
      });
    },
  };
}
