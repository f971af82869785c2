/**
 * Owns the mock's Azure OpenAI wire format, after Azure's published inference reference (2024-10-21,
 * ChatCompletions_Create): the deployment named in the path, `api-version` required in the query,
 * the key in `api-key` (or an Entra token as Bearer), answers carrying Azure's prompt_filter_results
 * and per-choice content_filter_results, Azure's error bodies (`{"error":{"code","message"}}`, the
 * content-filter refusal with its inner error), and body fields refused by API versions that predate
 * them. Its in-band failure is the one Azure really has: the output filter withholding the answer
 * (finish_reason "content_filter"). The tests validate these bodies against the reference.
 */
import type { ErrorKind } from '../faults.ts';
import { bearer, countTokens, header, json, randomId, textOf, unixSeconds } from './common.ts';
import { openaiWire } from './openai.ts';
import type { ChatCall, ErrorContext, Rendered, Reply, WireFormat } from './types.ts';

/** Roles the 2024-10-21 reference knows (chatCompletionRequestMessage). */
const ROLES = new Set(['system', 'user', 'assistant', 'tool', 'function']);

/** Fields that arrived with 2024-09-01-preview: older versions answer "Unrecognized request argument". */
const NEWER_FIELDS = ['stream_options', 'max_completion_tokens'];
const NEWER_FIELDS_SINCE = '2024-09-01';

const safe = { filtered: false, severity: 'safe' };
const notDetected = { filtered: false, detected: false };

/** contentFilterPromptResults: nothing found. */
const PROMPT_FILTER = { hate: safe, jailbreak: notDetected, self_harm: safe, sexual: safe, violence: safe };
/** contentFilterChoiceResults: nothing found. */
const CHOICE_FILTER = {
  hate: safe,
  protected_material_code: notDetected,
  protected_material_text: notDetected,
  self_harm: safe,
  sexual: safe,
  violence: safe,
};
/** contentFilterChoiceResults of an answer the output filter withheld. */
const CHOICE_FILTERED = { ...CHOICE_FILTER, violence: { filtered: true, severity: 'medium' } };

const MODELS = ['gpt-4o-2024-08-06', 'gpt-4o-mini-2024-07-18', 'text-embedding-3-small'];

function sse(data: unknown): string {
  return `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}

const e = (status: number, code: string, message: string, extra?: Record<string, unknown>, headers?: Record<string, string>) =>
  json(status, { error: { code, message, ...extra } }, headers);

/** Azure's real error bodies per kind, with the status each really comes with. */
function azureError(kind: ErrorKind, ctx: ErrorContext): Rendered {
  switch (kind) {
    case 'bad_request':
      return e(400, 'invalid_value', "-1 is less than the minimum of 0 - 'temperature'", {
        type: 'invalid_request_error',
        param: 'temperature',
      });
    case 'context_length':
      return e(
        400,
        'context_length_exceeded',
        "This model's maximum context length is 128000 tokens. However, your messages resulted in 131072 tokens. Please reduce the length of the messages.",
        { type: 'invalid_request_error', param: 'messages' },
      );
    case 'content_policy':
      return e(
        400,
        'content_filter',
        "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766",
        {
          param: 'prompt',
          inner_error: {
            code: 'ResponsibleAIPolicyViolation',
            content_filter_results: { ...PROMPT_FILTER, violence: { filtered: true, severity: 'high' } },
          },
        },
      );
    case 'model_not_found':
      return e(
        404,
        'DeploymentNotFound',
        `The API deployment ${ctx.model ?? 'for this resource'} does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.`,
      );
    case 'auth':
      return e(
        401,
        '401',
        'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
      );
    case 'forbidden':
      return e(403, '403', 'Traffic is not from an approved private endpoint.');
    case 'credits':
      return e(429, 'insufficient_quota', 'You exceeded your current quota, please check your plan and billing details.');
    case 'rate_limit':
      return e(
        429,
        '429',
        'Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 6 seconds. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit.',
        undefined,
        { 'retry-after': '6', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-remaining-tokens': '0' },
      );
    case 'timeout':
      return e(408, 'Timeout', 'The operation was timeout.');
    case 'server':
      return e(
        500,
        'InternalServerError',
        'The server had an error processing your request. Sorry about that! You can retry your request, or contact us through an Azure support request at: https://go.microsoft.com/fwlink/?linkid=2213926 if you keep seeing this error.',
      );
    case 'bad_gateway':
      return e(502, '502', 'Bad gateway.');
    case 'unavailable':
    case 'overloaded':
      return e(503, 'ServiceUnavailable', 'The service is temporarily unable to process your request. Please try again later.');
    case 'gateway_timeout':
      return e(504, 'Timeout', 'The operation was timeout.');
  }
}

function datedBefore(apiVersion: string, since: string): boolean {
  const date = /^(\d{4}-\d{2}-\d{2})/.exec(apiVersion)?.[1];
  return date !== undefined && date < since;
}

export function azureOpenAIWire(): WireFormat {
  const openai = openaiWire('openai');
  const usage = (reply: Reply) => ({
    prompt_tokens: reply.promptTokens,
    completion_tokens: reply.completionTokens,
    total_tokens: reply.promptTokens + reply.completionTokens,
    completion_tokens_details: { reasoning_tokens: 0 },
  });
  const chunk = (call: ChatCall, id: string, created: number, choices: unknown[]) => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model: call.model,
    system_fingerprint: 'fp_mock',
    choices,
  });

  return {
    checkAuth(headers, query) {
      // Without api-version Azure does not find the operation at all.
      if (!query.get('api-version')) return e(404, '404', 'Resource not found');
      if (header(headers, 'api-key') || bearer(headers.authorization)) return undefined;
      return azureError('auth', {});
    },

    parseChat({ provider, body, headers, query, pathModel }) {
      const b = (body ?? {}) as Record<string, unknown>;
      const apiVersion = query.get('api-version') ?? '';
      const messages = Array.isArray(b.messages) ? (b.messages as Array<Record<string, unknown>>) : undefined;
      if (!messages || messages.length === 0) {
        return e(400, 'invalid_value', "Invalid 'messages': empty array. Expected an array with minimum length 1.", {
          type: 'invalid_request_error',
          param: 'messages',
        });
      }
      const badRole = messages.findIndex((m) => !ROLES.has(String(m.role)));
      if (badRole >= 0) {
        return e(
          400,
          'invalid_value',
          `Invalid value: '${String(messages[badRole]!.role)}'. Supported values are: 'system', 'assistant', 'user', 'function', and 'tool'.`,
          { type: 'invalid_request_error', param: `messages[${badRole}].role` },
        );
      }
      const unknown = datedBefore(apiVersion, NEWER_FIELDS_SINCE) ? NEWER_FIELDS.find((field) => field in b) : undefined;
      if (unknown) return e(400, 'BadRequest', `Unrecognized request argument supplied: ${unknown}`);
      const users = messages.filter((m) => m.role === 'user');
      const streamOptions = b.stream_options as { include_usage?: unknown } | undefined;
      const apiKey = header(headers, 'api-key') ?? bearer(headers.authorization);
      return {
        provider,
        // The deployment in the path is the model; a `model` in the body is ignored, as Azure does.
        model: pathModel ?? '',
        stream: b.stream === true,
        includeUsage: streamOptions?.include_usage === true,
        lastUser: textOf(users[users.length - 1]?.content),
        promptTokens: messages.reduce((n, m) => n + countTokens(textOf(m.content)), 0),
        ...(apiKey ? { apiKey } : {}),
      };
    },

    completion(call, reply) {
      return json(200, {
        id: randomId('chatcmpl-'),
        object: 'chat.completion',
        created: unixSeconds(),
        model: call.model,
        prompt_filter_results: [{ prompt_index: 0, content_filter_results: PROMPT_FILTER }],
        choices: [
          {
            index: 0,
            finish_reason: 'stop',
            logprobs: null,
            message: { role: 'assistant', content: reply.text, refusal: null },
            content_filter_results: CHOICE_FILTER,
          },
        ],
        usage: usage(reply),
        system_fingerprint: 'fp_mock',
      });
    },

    stream(call, reply) {
      const id = randomId('chatcmpl-');
      const created = unixSeconds();
      // Azure's first event carries only the prompt's filter results: no id, model or choices yet.
      const promptFilter = {
        id: '',
        object: 'chat.completion.chunk',
        created: 0,
        model: '',
        choices: [],
        prompt_filter_results: [{ prompt_index: 0, content_filter_results: PROMPT_FILTER }],
      };
      const prelude = [
        sse(promptFilter),
        sse(chunk(call, id, created, [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null, logprobs: null }])),
      ];
      const content = reply.chunks.map((text) =>
        sse(
          chunk(call, id, created, [
            { index: 0, delta: { content: text }, finish_reason: null, logprobs: null, content_filter_results: CHOICE_FILTER },
          ]),
        ),
      );
      const terminator = [
        sse(chunk(call, id, created, [{ index: 0, delta: {}, finish_reason: 'stop', logprobs: null, content_filter_results: {} }])),
        ...(call.includeUsage ? [sse({ ...chunk(call, id, created, []), usage: usage(reply) })] : []),
        sse('[DONE]'),
      ];
      return { contentType: 'text/event-stream', prelude, content, terminator };
    },

    error: azureError,

    inband(call) {
      const id = randomId('chatcmpl-');
      const created = unixSeconds();
      return {
        body: json(200, {
          id,
          object: 'chat.completion',
          created,
          model: call.model,
          prompt_filter_results: [{ prompt_index: 0, content_filter_results: PROMPT_FILTER }],
          choices: [
            {
              index: 0,
              finish_reason: 'content_filter',
              logprobs: null,
              message: { role: 'assistant', content: null, refusal: null },
              content_filter_results: CHOICE_FILTERED,
            },
          ],
          usage: { prompt_tokens: call.promptTokens, completion_tokens: 0, total_tokens: call.promptTokens },
          system_fingerprint: 'fp_mock',
        }),
        frame: sse(
          chunk(call, id, created, [
            { index: 0, delta: {}, finish_reason: 'content_filter', logprobs: null, content_filter_results: CHOICE_FILTERED },
          ]),
        ),
      };
    },

    malformed: (call) => openai.malformed(call),

    models() {
      return json(200, {
        object: 'list',
        data: MODELS.map((id) => ({
          id,
          object: 'model',
          created_at: 1_720_000_000,
          status: 'succeeded',
          capabilities: {
            chat_completion: !id.startsWith('text-'),
            completion: false,
            embeddings: id.startsWith('text-'),
            inference: true,
          },
          lifecycle_status: 'generally-available',
        })),
      });
    },
  };
}
