/**
 * Owns the mock's OpenAI-compatible server: what vLLM, llama.cpp's server or LM Studio answer on
 * `/v1/chat/completions`. Requests are OpenAI's (parsed by the OpenAI wire); no key is required
 * (a server started without one). Answers are the lean subset such servers send: no id, created,
 * usage, logprobs or refusal unless asked (stream usage only with stream_options.include_usage);
 * errors in their shapes (vLLM's top-level `{"object":"error","message","type","code":<status>}`,
 * llama.cpp's `{"error":{"code":<status>,...}}`, a bare `{"error":"Unauthorized"}`, Groq's and
 * DeepSeek's OpenAI-style bodies), HTML from a reverse proxy for gateway failures, and in-band
 * stream errors wrapped as `{"error":{...}}`.
 */
import type { ErrorKind } from '../faults.ts';
import { json } from './common.ts';
import { openaiWire } from './openai.ts';
import type { ChatCall, Rendered, Reply, WireFormat } from './types.ts';

const MODELS = ['meta-llama/Llama-3.1-8B-Instruct', 'Qwen/Qwen2.5-7B-Instruct'];

function sse(data: unknown): string {
  return `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}

/** vLLM's ErrorResponse. */
const vllm = (status: number, type: string, message: string, headers?: Record<string, string>) =>
  json(status, { object: 'error', message, type, param: null, code: status }, headers);

const proxyPage = (status: number, title: string): Rendered => ({
  status,
  contentType: 'text/html',
  body: `<html>\r\n<head><title>${status} ${title}</title></head>\r\n<body>\r\n<center><h1>${status} ${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`,
});

function compatibleError(kind: ErrorKind, ctx: { model?: string }): Rendered {
  const model = ctx.model ?? 'meta-llama/Llama-3.1-8B-Instruct';
  switch (kind) {
    case 'bad_request':
      return vllm(400, 'BadRequestError', 'temperature must be non-negative, got -1.0.');
    case 'context_length':
      return vllm(
        400,
        'BadRequestError',
        "This model's maximum context length is 8192 tokens. However, you requested 9216 tokens (8192 in the messages, 1024 in the completion). Please reduce the length of the messages or completion.",
      );
    case 'content_policy':
      // Hosted servers that moderate (Groq, Together) relay OpenAI's code.
      return json(400, {
        error: {
          message: 'Your request was rejected as a result of our safety system.',
          type: 'invalid_request_error',
          code: 'content_policy_violation',
        },
      });
    case 'model_not_found':
      return vllm(404, 'NotFoundError', `The model \`${model}\` does not exist.`);
    case 'auth':
      return json(401, { error: 'Unauthorized' });
    case 'forbidden':
      return vllm(403, 'PermissionDeniedError', 'Forbidden');
    case 'credits':
      // DeepSeek's answer when the balance is spent.
      return json(402, { error: { message: 'Insufficient Balance', type: 'unknown_error', param: null, code: 'invalid_request_error' } });
    case 'rate_limit':
      // Groq's.
      return json(
        429,
        {
          error: {
            message: `Rate limit reached for model \`${model}\` on tokens per minute (TPM): Limit 6000, Used 5997, Requested 400. Please try again in 3.97s.`,
            type: 'tokens',
            code: 'rate_limit_exceeded',
          },
        },
        { 'retry-after': '4', 'x-ratelimit-remaining-tokens': '3' },
      );
    case 'timeout':
      return vllm(408, 'TimeoutError', 'Request timed out');
    case 'server':
      return vllm(500, 'InternalServerError', 'EngineCore encountered an issue.');
    case 'bad_gateway':
      return proxyPage(502, 'Bad Gateway');
    case 'unavailable':
    case 'overloaded':
      // llama.cpp's server while it loads the model.
      return json(503, { error: { code: 503, message: 'Loading model', type: 'unavailable_error' } });
    case 'gateway_timeout':
      return proxyPage(504, 'Gateway Time-out');
  }
}

export function openaiCompatibleWire(): WireFormat {
  // Requests are OpenAI's; the `mock` dialect asks for no key.
  const openai = openaiWire('mock');
  const usage = (reply: Reply) => ({
    prompt_tokens: reply.promptTokens,
    completion_tokens: reply.completionTokens,
    total_tokens: reply.promptTokens + reply.completionTokens,
  });
  const chunk = (call: ChatCall, choices: unknown[]) => ({ object: 'chat.completion.chunk', model: call.model, choices });

  return {
    checkAuth: () => undefined,
    parseChat: (input) => openai.parseChat(input),

    completion(call, reply) {
      return json(200, {
        object: 'chat.completion',
        model: call.model,
        choices: [{ index: 0, message: { role: 'assistant', content: reply.text }, finish_reason: 'stop' }],
      });
    },

    stream(call, reply) {
      const prelude = [sse(chunk(call, [{ index: 0, delta: { role: 'assistant' }, finish_reason: null }]))];
      const content = reply.chunks.map((text) => sse(chunk(call, [{ index: 0, delta: { content: text }, finish_reason: null }])));
      const terminator = [
        sse(chunk(call, [{ index: 0, delta: {}, finish_reason: 'stop' }])),
        ...(call.includeUsage ? [sse({ ...chunk(call, []), usage: usage(reply) })] : []),
        sse('[DONE]'),
      ];
      return { contentType: 'text/event-stream', prelude, content, terminator };
    },

    error: compatibleError,

    inband() {
      const error = { object: 'error', message: 'EngineCore encountered an issue.', type: 'InternalServerError', param: null, code: 500 };
      return { body: json(200, { error }), frame: sse({ error }) };
    },

    malformed: (call) => openai.malformed(call),

    models() {
      return json(200, {
        object: 'list',
        data: MODELS.map((id) => ({ id, object: 'model', created: 1_720_000_000, owned_by: 'vllm' })),
      });
    },
  };
}
