/**
 * Owns the mock's OpenAI chat-completions wire format, in three dialects: `openai` (api.openai.com),
 * `openrouter` (same format plus its keep-alive comments, `provider` field, numeric error codes,
 * in-band errors) and `mock` (the built-in mock provider's HTTP models; no key required).
 * Bodies follow createChatCompletion in OpenAI's OpenAPI description; the tests validate them.
 */
import type { ErrorKind } from '../faults.ts';
import { bearer, countTokens, json, maskKey, randomId, textOf, unixSeconds } from './common.ts';
import type { ChatCall, ErrorContext, Rendered, Reply, WireFormat } from './types.ts';

export type OpenAIDialect = 'openai' | 'openrouter' | 'mock';

const MODELS: Record<OpenAIDialect, string[]> = {
  openai: ['gpt-4o-mini', 'gpt-4o', 'gpt-4.1', 'gpt-4.1-mini', 'o4-mini'],
  openrouter: ['meta-llama/llama-3.1-8b-instruct', 'openai/gpt-4o-mini', 'anthropic/claude-sonnet-4.5', 'google/gemini-2.5-flash'],
  mock: ['echo', 'http'],
};

function sse(data: unknown): string {
  return `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}

/** OpenAI's real error bodies per kind, with the status each really comes with. */
function openaiError(kind: ErrorKind, ctx: ErrorContext): Rendered {
  const model = ctx.model ?? 'gpt-4o-mini';
  const e = (status: number, message: string, type: string, code: string | null, param: string | null = null) =>
    json(status, { error: { message, type, param, code } });
  switch (kind) {
    case 'bad_request':
      return e(400, "Invalid value for 'temperature': must be between 0 and 2.", 'invalid_request_error', 'invalid_value', 'temperature');
    case 'context_length':
      return e(
        400,
        "This model's maximum context length is 128000 tokens. However, your messages resulted in 131072 tokens. Please reduce the length of the messages.",
        'invalid_request_error',
        'context_length_exceeded',
        'messages',
      );
    case 'content_policy':
      return e(
        400,
        'Your request was rejected as a result of our safety system. Your prompt may contain text that is not allowed by our safety system.',
        'invalid_request_error',
        'content_policy_violation',
      );
    case 'model_not_found':
      return e(404, `The model \`${model}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found');
    case 'auth':
      return e(
        401,
        `Incorrect API key provided: ${maskKey(ctx.apiKey)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        'invalid_request_error',
        'invalid_api_key',
      );
    case 'forbidden':
      return e(403, 'Country, region, or territory not supported', 'request_forbidden', 'unsupported_country_region_territory');
    case 'credits':
      return e(
        429,
        'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
        'insufficient_quota',
        'insufficient_quota',
      );
    case 'rate_limit':
      return {
        ...e(
          429,
          `Rate limit reached for ${model} in organization org-mock on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in 120ms.`,
          'requests',
          'rate_limit_exceeded',
        ),
        headers: {
          'x-ratelimit-limit-requests': '500',
          'x-ratelimit-remaining-requests': '0',
          'x-ratelimit-reset-requests': '120ms',
          'x-ratelimit-limit-tokens': '200000',
          'x-ratelimit-remaining-tokens': '199000',
          'x-ratelimit-reset-tokens': '300ms',
        },
      };
    case 'timeout':
      return e(408, 'Request timed out.', 'timeout', null);
    case 'server':
      return e(
        500,
        'The server had an error while processing your request. Sorry about that! You can retry your request, or contact us through our help center.',
        'server_error',
        null,
      );
    case 'bad_gateway':
      // Real 502s come from the edge as HTML, not JSON.
      return {
        status: 502,
        contentType: 'text/html',
        body: '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n',
      };
    case 'unavailable':
    case 'overloaded':
      return e(503, 'The engine is currently overloaded, please try again later.', 'server_error', null);
    case 'gateway_timeout':
      return e(504, 'Gateway timeout. Please try again.', 'server_error', null);
  }
}

/** OpenRouter's error shape: `{"error":{"code":<status>,"message","metadata"?}}`. */
function openrouterError(kind: ErrorKind, ctx: ErrorContext): Rendered {
  const model = ctx.model ?? 'meta-llama/llama-3.1-8b-instruct';
  const e = (code: number, message: string, metadata?: Record<string, unknown>, headers?: Record<string, string>) =>
    json(code, { error: { code, message, ...(metadata ? { metadata } : {}) } }, headers);
  switch (kind) {
    case 'bad_request':
      return e(400, 'Input required: specify "prompt" or "messages"');
    case 'context_length':
      return e(
        400,
        'This endpoint\'s maximum context length is 131072 tokens. However, you requested about 150000 tokens (150000 of text input). Please reduce the length of either one, or use the "middle-out" transform to compress your prompt automatically.',
      );
    case 'content_policy':
      return e(403, `${model} requires moderation on OpenAI. Your input was flagged for "violence".`, {
        reasons: ['violence'],
        flagged_input: 'I want to...',
        provider_name: 'OpenAI',
        model_slug: model,
      });
    case 'model_not_found':
      return e(400, `${model} is not a valid model ID`);
    case 'auth':
      return e(401, 'No cookie auth credentials found');
    case 'forbidden':
      return e(403, 'This API key is disabled. Re-enable it at https://openrouter.ai/settings/keys');
    case 'credits':
      return e(
        402,
        'This request requires more credits, or fewer max_tokens. You requested up to 4096 tokens, but can only afford 12. To increase, visit https://openrouter.ai/settings/credits and upgrade to a paid account',
      );
    case 'rate_limit':
      return e(
        429,
        'Rate limit exceeded: free-models-per-min.',
        { headers: { 'X-RateLimit-Limit': '20', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': String(Date.now() + 60_000) } },
        { 'x-ratelimit-limit': '20', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Date.now() + 60_000) },
      );
    case 'timeout':
      return e(408, 'Request timed out');
    case 'server':
      return e(500, 'Internal Server Error');
    case 'bad_gateway':
    case 'overloaded':
      return e(502, 'Provider returned error', { provider_name: 'Mock', raw: '{"error":{"message":"upstream overloaded"}}' });
    case 'unavailable':
      return e(503, 'No allowed providers are available for the selected model.');
    case 'gateway_timeout':
      return e(504, 'Gateway Timeout');
  }
}

/** What the mock OpenRouter charges: $1 per million prompt tokens, $2 per million completion tokens. */
export function openrouterMockCost(promptTokens: number, completionTokens: number): number {
  return (promptTokens * 1 + completionTokens * 2) / 1_000_000;
}

export function openaiWire(dialect: OpenAIDialect): WireFormat {
  const chunkBase = (call: ChatCall, id: string, created: number) => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model: call.model,
    ...(dialect === 'openrouter' ? { provider: 'Mock' } : { system_fingerprint: 'fp_mock' }),
  });
  const usage = (reply: Reply) => ({
    prompt_tokens: reply.promptTokens,
    completion_tokens: reply.completionTokens,
    total_tokens: reply.promptTokens + reply.completionTokens,
    // OpenRouter reports what it charged with every usage object, in dollars (credits).
    ...(dialect === 'openrouter' ? { cost: openrouterMockCost(reply.promptTokens, reply.completionTokens) } : {}),
  });

  return {
    checkAuth(headers) {
      if (dialect === 'mock' || bearer(headers.authorization)) return undefined;
      if (dialect === 'openrouter') return openrouterError('auth', {});
      return json(401, {
        error: {
          message:
            "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
          type: 'invalid_request_error',
          param: null,
          code: null,
        },
      });
    },

    parseChat({ provider, body, headers }) {
      const b = (body ?? {}) as Record<string, unknown>;
      const messages = Array.isArray(b.messages) ? (b.messages as Array<Record<string, unknown>>) : undefined;
      if (typeof b.model !== 'string' || !b.model) {
        if (dialect === 'openrouter') return openrouterError('bad_request', {});
        return json(400, {
          error: { message: 'you must provide a model parameter', type: 'invalid_request_error', param: null, code: null },
        });
      }
      if (!messages || messages.length === 0) {
        return dialect === 'openrouter'
          ? openrouterError('bad_request', {})
          : json(400, {
              error: {
                message: "Invalid 'messages': empty array. Expected an array with minimum length 1.",
                type: 'invalid_request_error',
                param: 'messages',
                code: 'empty_array',
              },
            });
      }
      const users = messages.filter((m) => m.role === 'user');
      const streamOptions = b.stream_options as { include_usage?: unknown } | undefined;
      const apiKey = bearer(headers.authorization);
      return {
        provider,
        model: b.model,
        stream: b.stream === true,
        includeUsage: dialect === 'openrouter' || streamOptions?.include_usage === true,
        lastUser: textOf(users[users.length - 1]?.content),
        promptTokens: messages.reduce((n, m) => n + countTokens(textOf(m.content)), 0),
        ...(apiKey ? { apiKey } : {}),
      };
    },

    completion(call, reply) {
      const body = {
        id: randomId('chatcmpl-'),
        object: 'chat.completion',
        created: unixSeconds(),
        model: call.model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: reply.text, refusal: null, annotations: [] },
            logprobs: null,
            finish_reason: 'stop',
          },
        ],
        usage: usage(reply),
        ...(dialect === 'openrouter' ? { provider: 'Mock' } : { service_tier: 'default', system_fingerprint: 'fp_mock' }),
      };
      const rendered = json(200, body);
      // OpenRouter pads non-streamed answers with whitespace while the model works.
      return dialect === 'openrouter' ? { ...rendered, body: `\n\n${rendered.body}` } : rendered;
    },

    stream(call, reply) {
      const id = randomId('chatcmpl-');
      const created = unixSeconds();
      const base = chunkBase(call, id, created);
      const prelude = [
        ...(dialect === 'openrouter' ? [': OPENROUTER PROCESSING\n\n'] : []),
        sse({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] }),
      ];
      const content = reply.chunks.map((text) =>
        sse({ ...base, choices: [{ index: 0, delta: { content: text }, logprobs: null, finish_reason: null }] }),
      );
      const terminator = [
        sse({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }] }),
        ...(call.includeUsage ? [sse({ ...base, choices: [], usage: usage(reply) })] : []),
        sse('[DONE]'),
      ];
      return { contentType: 'text/event-stream', prelude, content, terminator };
    },

    error(kind, ctx) {
      return dialect === 'openrouter' ? openrouterError(kind, ctx) : openaiError(kind, ctx);
    },

    inband(call) {
      const error =
        dialect === 'openrouter'
          ? { code: 502, message: 'Provider disconnected unexpectedly' }
          : { message: 'The server had an error while processing your request.', type: 'server_error', param: null, code: 'server_error' };
      const id = randomId('chatcmpl-');
      const base = chunkBase(call, id, unixSeconds());
      return {
        body: json(200, { id, object: 'chat.completion', created: unixSeconds(), model: call.model, error, choices: [] }),
        frame: sse({ ...base, error, choices: [{ index: 0, delta: { content: '' }, finish_reason: 'error' }] }),
      };
    },

    malformed() {
      return {
        body: {
          status: 200,
          contentType: 'application/json',
          body: '{"id":"chatcmpl-mock","object":"chat.completion","choices":[{"index":0,"message":',
        },
        frame: 'data: {"id":"chatcmpl-mock","choices":[{"delta":{"content":"oops"\n\n',
      };
    },

    models() {
      if (dialect === 'openrouter') {
        return json(200, {
          data: MODELS.openrouter.map((id) => ({
            id,
            name: id,
            created: 1_720_000_000,
            context_length: 131_072,
            pricing: { prompt: '0.00000002', completion: '0.00000005' },
          })),
        });
      }
      return json(200, {
        object: 'list',
        data: MODELS[dialect].map((id) => ({
          id,
          object: 'model',
          created: 1_720_000_000,
          owned_by: dialect === 'mock' ? 'switchyard' : 'system',
        })),
      });
    },
  };
}

/** OpenRouter's GET /key body; the label masks the presented key the way OpenRouter does. */
export function openrouterKey(apiKey: string | undefined, account: { limit: number | null; usage: number }): Rendered {
  const label = apiKey ? `${apiKey.slice(0, 11)}...${apiKey.slice(-3)}` : 'unknown';
  return json(200, {
    data: {
      label,
      limit: account.limit,
      usage: account.usage,
      limit_remaining: account.limit === null ? null : Math.max(0, account.limit - account.usage),
      is_free_tier: false,
      is_provisioning_key: false,
      rate_limit: { requests: -1, interval: '10s' },
    },
  });
}

export function openrouterCredits(account: { limit: number | null; usage: number }): Rendered {
  return json(200, { data: { total_credits: account.limit ?? 1000, total_usage: account.usage } });
}
