/**
 * Owns the OpenAI wire shapes we send: CreateChatCompletionResponse for a finished job and
 * CreateChatCompletionStreamResponse chunks for a streamed one, with finish reasons normalised to
 * OpenAI's vocabulary and the served model named as `provider/model`.
 */
import type { JobResult } from '@switchyard/shared';
import { z } from 'zod';

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call';

const FINISH_REASONS: Record<string, FinishReason> = {
  stop: 'stop',
  end_turn: 'stop',
  stop_sequence: 'stop',
  eos: 'stop',
  length: 'length',
  max_tokens: 'length',
  tool_calls: 'tool_calls',
  tool_use: 'tool_calls',
  function_call: 'function_call',
  content_filter: 'content_filter',
  safety: 'content_filter',
  refusal: 'content_filter',
};

export function finishReason(raw: string | undefined): FinishReason {
  return FINISH_REASONS[(raw ?? '').toLowerCase()] ?? 'stop';
}

/** `provider/model` of the model that answered (results may carry the bare provider model id). */
export function servedModel(result: JobResult): string {
  return result.model.startsWith(`${result.provider}/`) ? result.model : `${result.provider}/${result.model}`;
}

export const completionId = (jobId: string) => `chatcmpl-${jobId}`;

export function usageOf(result: JobResult) {
  const { prompt_tokens, completion_tokens } = result.usage;
  return { prompt_tokens, completion_tokens, total_tokens: result.usage.total_tokens || prompt_tokens + completion_tokens };
}

export function chatCompletion(jobId: string, created: number, result: JobResult) {
  return {
    id: completionId(jobId),
    object: 'chat.completion' as const,
    created,
    model: servedModel(result),
    choices: [
      {
        index: 0,
        message: { role: 'assistant' as const, content: result.content, refusal: null },
        finish_reason: finishReason(result.finish_reason),
        logprobs: null,
      },
    ],
    usage: usageOf(result),
  };
}

export interface ChunkBase {
  id: string;
  created: number;
  model: string;
  /** With stream_options.include_usage, every chunk but the last carries `usage: null`. */
  includeUsage: boolean;
}

export function chunk(base: ChunkBase, delta: { role?: 'assistant'; content?: string }, finish: FinishReason | null = null) {
  return {
    id: base.id,
    object: 'chat.completion.chunk' as const,
    created: base.created,
    model: base.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(base.includeUsage ? { usage: null } : {}),
  };
}

export function usageChunk(base: ChunkBase, result: JobResult) {
  return {
    id: base.id,
    object: 'chat.completion.chunk' as const,
    created: base.created,
    model: base.model,
    choices: [],
    usage: usageOf(result),
  };
}

/** CreateChatCompletionResponse as we fill it (for serialization and the OpenAPI document). */
export const chatCompletionSchema = z.object({
  id: z.string(),
  object: z.literal('chat.completion'),
  created: z.number().int(),
  model: z.string(),
  choices: z.array(
    z.object({
      index: z.number().int(),
      message: z.object({ role: z.literal('assistant'), content: z.string().nullable(), refusal: z.string().nullable() }),
      finish_reason: z.enum(['stop', 'length', 'tool_calls', 'content_filter', 'function_call']),
      logprobs: z.null(),
    }),
  ),
  usage: z.object({ prompt_tokens: z.number().int(), completion_tokens: z.number().int(), total_tokens: z.number().int() }),
});
