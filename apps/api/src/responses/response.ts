/**
 * Owns the Response object this face sends and stores (OpenAI's `Response` schema): one assistant
 * message item with one output_text part, the request's settings echoed back, usage in the
 * Responses vocabulary, and a finished job's outcome as `status`: completed, incomplete (the answer
 * stopped at max_output_tokens or a content filter) or failed with OpenAI's `ResponseError`.
 */
import { type JobError, type JobResult, redactSecrets } from '@switchyard/shared';
import { z } from 'zod';
import { mapJobError } from '../openai/errors.ts';
import { finishReason, servedModel } from '../openai/response.ts';
import type { CreateResponseRequest } from './request.ts';

export const responseId = (jobId: string) => `resp_${jobId}`;
/** The job behind response `id` (`resp_<job id>`). */
export const jobIdOfResponse = (id: string) => id.slice('resp_'.length);
export const messageItemId = (jobId: string) => `msg_${jobId}`;
/** The id of a response's `index`th input item (listInputItems); job ids hold no `_`, so it is no answer's id. */
export const inputItemId = (jobId: string, index: number) => `msg_${jobId}_${index}`;
/** The response that holds a message item of ours (one answer item per response), or null for an id that is not one. */
export const responseIdOfItem = (itemId: string) => (itemId.startsWith('msg_') ? responseId(itemId.slice('msg_'.length)) : null);

/** The request's settings a Response echoes back. */
export interface EchoedSettings {
  instructions: string | null;
  max_output_tokens: number | null;
  temperature: number | null;
  top_p: number | null;
  metadata: Record<string, string>;
  previous_response_id: string | null;
  store: boolean;
  tool_choice: 'none' | 'auto';
}

export function echoedSettings(body: CreateResponseRequest): EchoedSettings {
  const toolChoice = (body as { tool_choice?: unknown }).tool_choice;
  return {
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    temperature: body.temperature ?? null,
    top_p: body.top_p ?? null,
    metadata: body.metadata ?? {},
    previous_response_id: body.previous_response_id ?? null,
    store: body.store !== false,
    tool_choice: toolChoice === 'none' ? 'none' : 'auto',
  };
}

export const responseErrorSchema = z.object({
  code: z.enum(['server_error', 'rate_limit_exceeded', 'invalid_prompt']),
  message: z.string(),
});
export type ResponseError = z.infer<typeof responseErrorSchema>;

/**
 * A job's failure in ResponseError's vocabulary (its `code` enum is OpenAI's, and short). The
 * message goes through the same scrub as every error body, since it travels in events and the store.
 */
export function responseError(message: string, error: JobError | undefined): ResponseError {
  const status = error ? mapJobError(error).status : 502;
  const code = status === 429 ? 'rate_limit_exceeded' : status === 400 ? 'invalid_prompt' : 'server_error';
  return { code, message: redactSecrets(message) };
}

export const textPartSchema = z.object({
  type: z.literal('output_text'),
  text: z.string(),
  annotations: z.array(z.unknown()),
  logprobs: z.array(z.unknown()),
});

export const messageItemSchema = z.object({
  id: z.string(),
  type: z.literal('message'),
  role: z.literal('assistant'),
  status: z.enum(['in_progress', 'completed', 'incomplete']),
  content: z.array(textPartSchema),
});
export type MessageItem = z.infer<typeof messageItemSchema>;

const usageSchema = z.object({
  input_tokens: z.number().int(),
  input_tokens_details: z.object({ cached_tokens: z.number().int(), cache_write_tokens: z.number().int() }),
  output_tokens: z.number().int(),
  output_tokens_details: z.object({ reasoning_tokens: z.number().int() }),
  total_tokens: z.number().int(),
});

/** The Response as this face fills it: for serialization, the OpenAPI document, and reading the store back. */
export const responseObjectSchema = z.object({
  id: z.string(),
  object: z.literal('response'),
  created_at: z.number().int(),
  status: z.enum(['in_progress', 'completed', 'incomplete', 'failed']),
  completed_at: z.number().int().nullable(),
  error: responseErrorSchema.nullable(),
  incomplete_details: z.object({ reason: z.enum(['max_output_tokens', 'content_filter']) }).nullable(),
  instructions: z.string().nullable(),
  max_output_tokens: z.number().int().nullable(),
  model: z.string(),
  output: z.array(messageItemSchema),
  parallel_tool_calls: z.boolean(),
  previous_response_id: z.string().nullable(),
  store: z.boolean(),
  temperature: z.number().nullable(),
  top_p: z.number().nullable(),
  text: z.object({ format: z.object({ type: z.literal('text') }) }),
  tool_choice: z.enum(['none', 'auto']),
  tools: z.array(z.unknown()),
  truncation: z.literal('disabled'),
  usage: usageSchema.optional(),
  metadata: z.record(z.string(), z.string()),
  background: z.literal(false),
});
export type ResponseObject = z.infer<typeof responseObjectSchema>;

export function textPart(text: string) {
  return { type: 'output_text' as const, text, annotations: [] as unknown[], logprobs: [] as unknown[] };
}

export function messageItem(jobId: string, status: MessageItem['status'], text: string | null): MessageItem {
  return { id: messageItemId(jobId), type: 'message', role: 'assistant', status, content: text === null ? [] : [textPart(text)] };
}

function usageOf(result: JobResult): NonNullable<ResponseObject['usage']> {
  const { prompt_tokens, completion_tokens, total_tokens } = result.usage;
  return {
    input_tokens: prompt_tokens,
    input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
    output_tokens: completion_tokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: total_tokens || prompt_tokens + completion_tokens,
  };
}

export interface ResponseState {
  jobId: string;
  /** Unix seconds. */
  createdAt: number;
  /** The model asked for; a finished response names the one that answered. */
  model: string;
  settings: EchoedSettings;
}

function base(state: ResponseState) {
  const s = state.settings;
  return {
    id: responseId(state.jobId),
    object: 'response' as const,
    created_at: state.createdAt,
    instructions: s.instructions,
    max_output_tokens: s.max_output_tokens,
    model: state.model,
    parallel_tool_calls: false,
    previous_response_id: s.previous_response_id,
    store: s.store,
    temperature: s.temperature,
    top_p: s.top_p,
    text: { format: { type: 'text' as const } },
    tool_choice: s.tool_choice,
    tools: [] as unknown[],
    truncation: 'disabled' as const,
    metadata: s.metadata,
    background: false as const,
  };
}

/** The response while it is being generated (stream events before the end). */
export function inProgressResponse(state: ResponseState): ResponseObject {
  return { ...base(state), status: 'in_progress', completed_at: null, error: null, incomplete_details: null, output: [] };
}

const INCOMPLETE: Partial<Record<string, 'max_output_tokens' | 'content_filter'>> = {
  length: 'max_output_tokens',
  content_filter: 'content_filter',
};

/** A finished job's answer; `text` is what the client was sent (the result's content unless a stream says otherwise). */
export function finishedResponse(state: ResponseState, result: JobResult, text = result.content): ResponseObject {
  const reason = INCOMPLETE[finishReason(result.finish_reason)];
  return {
    ...base(state),
    model: servedModel(result),
    status: reason ? 'incomplete' : 'completed',
    completed_at: reason ? null : Math.floor(Date.now() / 1000),
    error: null,
    incomplete_details: reason ? { reason } : null,
    output: [messageItem(state.jobId, reason ? 'incomplete' : 'completed', text)],
    usage: usageOf(result),
  };
}

/** A job that failed, keeping what the client was already sent of its answer. */
export function failedResponse(state: ResponseState, error: ResponseError, partialText: string | null): ResponseObject {
  return {
    ...base(state),
    status: 'failed',
    completed_at: null,
    error,
    incomplete_details: null,
    output: partialText === null ? [] : [messageItem(state.jobId, 'incomplete', partialText)],
  };
}
