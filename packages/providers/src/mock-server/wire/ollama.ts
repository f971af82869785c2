/**
 * Owns the mock's Ollama /api/chat wire format: one object when `stream:false`, NDJSON lines
 * otherwise (Ollama streams by default), `done:true` with counts at the end, `{"error":"..."}`
 * bodies and in-band error lines, and /api/tags.
 */
import type { ErrorKind } from '../faults.ts';
import { countTokens, json, textOf } from './common.ts';
import type { ErrorContext, Rendered, WireFormat } from './types.ts';

const MODELS = ['llama3.2:latest', 'qwen2.5:latest', 'mistral:latest'];

function line(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

function ollamaError(kind: ErrorKind, ctx: ErrorContext): Rendered {
  const e = (status: number, error: string) => json(status, { error });
  switch (kind) {
    case 'bad_request':
    case 'content_policy':
      return e(400, 'invalid options: unknown field "foo"');
    case 'context_length':
      return e(400, 'the input length exceeds the context length');
    case 'model_not_found':
      return e(404, `model "${ctx.model ?? 'unknown'}" not found, try pulling it first`);
    case 'auth':
      return e(401, 'unauthorized');
    case 'forbidden':
      return e(403, 'forbidden');
    case 'credits':
      return e(402, "you've reached your usage limit, please upgrade to continue");
    case 'rate_limit':
      return e(429, 'too many requests');
    case 'timeout':
      return e(408, 'request timed out');
    case 'server':
      return e(500, 'llama runner process has terminated: exit status 2');
    case 'bad_gateway':
      return e(502, 'bad gateway');
    case 'unavailable':
    case 'overloaded':
      return e(503, 'server busy, please try again.  maximum pending requests exceeded');
    case 'gateway_timeout':
      return e(504, 'gateway timeout');
  }
}

export function ollamaWire(): WireFormat {
  const stamp = () => new Date().toISOString();
  const final = (model: string, prompt: number, completion: number) => ({
    model,
    created_at: stamp(),
    message: { role: 'assistant', content: '' },
    done: true,
    done_reason: 'stop',
    total_duration: 1_000_000,
    load_duration: 100_000,
    prompt_eval_count: prompt,
    prompt_eval_duration: 200_000,
    eval_count: completion,
    eval_duration: 700_000,
  });

  return {
    checkAuth() {
      return undefined;
    },

    parseChat({ provider, body }) {
      const b = (body ?? {}) as Record<string, unknown>;
      if (typeof b.model !== 'string' || !b.model) return json(400, { error: 'model is required' });
      const messages = Array.isArray(b.messages) ? (b.messages as Array<Record<string, unknown>>) : [];
      const users = messages.filter((m) => m.role === 'user');
      return {
        provider,
        model: b.model,
        // Ollama streams unless told not to.
        stream: b.stream !== false,
        includeUsage: true,
        lastUser: textOf(users[users.length - 1]?.content),
        promptTokens: messages.reduce((n, m) => n + countTokens(textOf(m.content)), 0),
      };
    },

    completion(call, reply) {
      const done = final(call.model, reply.promptTokens, reply.completionTokens);
      return json(200, { ...done, message: { role: 'assistant', content: reply.text } });
    },

    stream(call, reply) {
      return {
        contentType: 'application/x-ndjson',
        prelude: [],
        content: reply.chunks.map((text) =>
          line({ model: call.model, created_at: stamp(), message: { role: 'assistant', content: text }, done: false }),
        ),
        terminator: [line(final(call.model, reply.promptTokens, reply.completionTokens))],
      };
    },

    error: ollamaError,

    inband() {
      const error = { error: 'an error was encountered while running the model: unexpected EOF' };
      return { body: json(200, error), frame: line(error) };
    },

    malformed() {
      return {
        body: { status: 200, contentType: 'application/json', body: '{"model":"llama3.2","message":{"role":"assistant","content":' },
        frame: '{"model":"llama3.2","message":{"content":"oops"\n',
      };
    },

    models() {
      return json(200, {
        models: MODELS.map((name) => ({
          name,
          model: name,
          modified_at: '2025-10-01T00:00:00Z',
          size: 2_019_393_189,
          digest: 'a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72',
          details: {
            parent_model: '',
            format: 'gguf',
            family: 'llama',
            families: ['llama'],
            parameter_size: '3.2B',
            quantization_level: 'Q4_K_M',
          },
        })),
      });
    },
  };
}
