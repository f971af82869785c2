/**
 * Owns the mock's Gemini generateContent wire format: GenerateContentResponse bodies and `alt=sse`
 * chunks (no terminator event; the last chunk carries finishReason), google.rpc.Status errors with
 * the statuses Gemini really uses (an invalid key is a 400 INVALID_ARGUMENT with reason
 * API_KEY_INVALID), RetryInfo on quota errors, and prompt blocks as a 200 with promptFeedback.
 */
import type { ErrorKind } from '../faults.ts';
import { countTokens, header, json, randomId, textOf } from './common.ts';
import type { ErrorContext, Rendered, WireFormat } from './types.ts';

const MODELS = ['gemini-2.5-flash', 'gemini-2.5-pro', 'gemini-2.5-flash-lite'];

function sse(data: unknown): string {
  return `data: ${JSON.stringify(data)}\r\n\r\n`;
}

function status(code: number, statusName: string, message: string, details?: unknown[]): Rendered {
  return json(code, { error: { code, message, status: statusName, ...(details ? { details } : {}) } });
}

function geminiError(kind: ErrorKind, ctx: ErrorContext): Rendered {
  const model = ctx.model ?? 'gemini-2.5-flash';
  switch (kind) {
    case 'bad_request':
      return status(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received. Unknown name "foo": Cannot find field.');
    case 'context_length':
      return status(400, 'INVALID_ARGUMENT', 'The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).');
    case 'content_policy':
      // Gemini blocks prompts in a 200 answer, not with an error status.
      return json(200, {
        promptFeedback: { blockReason: 'PROHIBITED_CONTENT' },
        usageMetadata: { promptTokenCount: 8, totalTokenCount: 8 },
        modelVersion: model,
        responseId: randomId('', 8),
      });
    case 'model_not_found':
      return status(404, 'NOT_FOUND', `models/${model} is not found for API version v1beta, or is not supported for generateContent.`);
    case 'auth':
      return status(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [
        {
          '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
          reason: 'API_KEY_INVALID',
          domain: 'googleapis.com',
          metadata: { service: 'generativelanguage.googleapis.com' },
        },
      ]);
    case 'forbidden':
      // Google's real message names the consumer, key included: redaction must catch it downstream.
      return status(403, 'PERMISSION_DENIED', `Permission denied: Consumer 'api_key:${ctx.apiKey ?? 'unknown'}' has been suspended.`, [
        { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'CONSUMER_SUSPENDED', domain: 'googleapis.com' },
      ]);
    case 'credits':
      return status(
        429,
        'RESOURCE_EXHAUSTED',
        'Your prepayment credits are depleted. Please go to AI Studio at https://ai.studio/projects to manage your project and billing.',
      );
    case 'rate_limit':
      return status(
        429,
        'RESOURCE_EXHAUSTED',
        'You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.',
        [
          {
            '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
            violations: [
              {
                quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests',
                quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier',
              },
            ],
          },
          { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '7s' },
        ],
      );
    case 'timeout':
    case 'gateway_timeout':
      return status(504, 'DEADLINE_EXCEEDED', 'Deadline expired before operation could complete.');
    case 'server':
      return status(
        500,
        'INTERNAL',
        'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting',
      );
    case 'bad_gateway':
      return status(502, 'UNAVAILABLE', 'Bad Gateway');
    case 'unavailable':
    case 'overloaded':
      return status(503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.');
  }
}

export function geminiWire(): WireFormat {
  const chunk = (model: string, text: string, finishReason?: string, usage?: unknown) => ({
    candidates: [{ content: { parts: [{ text }], role: 'model' }, ...(finishReason ? { finishReason } : {}), index: 0 }],
    ...(usage ? { usageMetadata: usage } : {}),
    modelVersion: model,
    responseId: 'mock-response',
  });
  const usageOf = (prompt: number, completion: number) => ({
    promptTokenCount: prompt,
    candidatesTokenCount: completion,
    totalTokenCount: prompt + completion,
  });

  return {
    checkAuth(headers, query) {
      if (header(headers, 'x-goog-api-key') || query.get('key')) return undefined;
      return status(
        403,
        'PERMISSION_DENIED',
        "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
      );
    },

    parseChat({ provider, body, headers, pathModel, pathStream }) {
      const b = (body ?? {}) as Record<string, unknown>;
      const contents = Array.isArray(b.contents) ? (b.contents as Array<Record<string, unknown>>) : undefined;
      if (!contents || contents.length === 0)
        return status(400, 'INVALID_ARGUMENT', '* GenerateContentRequest.contents: contents is not specified');
      const partsText = (c: Record<string, unknown>) => textOf(c.parts);
      const users = contents.filter((c) => c.role === undefined || c.role === 'user');
      const apiKey = header(headers, 'x-goog-api-key');
      return {
        provider,
        model: pathModel ?? 'gemini-2.5-flash',
        stream: pathStream === true,
        includeUsage: true,
        lastUser: users.length ? partsText(users[users.length - 1]!) : '',
        promptTokens: contents.reduce((n, c) => n + countTokens(partsText(c)), 0),
        ...(apiKey ? { apiKey } : {}),
      };
    },

    completion(call, reply) {
      return json(200, chunk(call.model, reply.text, 'STOP', usageOf(reply.promptTokens, reply.completionTokens)));
    },

    stream(call, reply) {
      return {
        contentType: 'text/event-stream',
        prelude: [],
        content: reply.chunks.map((text) => sse(chunk(call.model, text, undefined, usageOf(reply.promptTokens, 0)))),
        terminator: [sse(chunk(call.model, '', 'STOP', usageOf(reply.promptTokens, reply.completionTokens)))],
      };
    },

    error: geminiError,

    inband() {
      const error = { error: { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' } };
      return { body: json(200, error), frame: sse(error) };
    },

    malformed() {
      return {
        body: { status: 200, contentType: 'application/json', body: '{"candidates":[{"content":{"parts":[{"text":' },
        frame: 'data: {"candidates":[{"content":\r\n\r\n',
      };
    },

    models(query) {
      const size = Math.max(1, Math.min(1000, Number(query.get('pageSize') ?? 50) || 50));
      return json(200, {
        models: MODELS.slice(0, size).map((id) => ({
          name: `models/${id}`,
          version: '001',
          displayName: id,
          inputTokenLimit: 1_048_576,
          outputTokenLimit: 65_536,
          supportedGenerationMethods: ['generateContent', 'countTokens'],
        })),
        ...(size < MODELS.length ? { nextPageToken: 'mock-next' } : {}),
      });
    },
  };
}
