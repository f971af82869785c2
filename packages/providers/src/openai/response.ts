/**
 * Owns the response side of the OpenAI chat-completions wire format: the chat.completion object and
 * the chat.completion.chunk stream, including the rules for when a stream counts as finished
 * (a finish_reason and `[DONE]`) and in-band errors (a chunk or body carrying `error`, or
 * finish_reason "error", as OpenRouter sends mid-generation failures; and, where the kind says so,
 * finish_reason "content_filter", Azure's output filter withholding the answer). Optional fields
 * (id, created, model, usage, OpenRouter's usage.cost) may be missing: many OpenAI-compatible servers omit them.
 */
import type { DeploymentKind } from '@switchyard/shared';
import { z } from 'zod';
import { providerErrorFromHttp } from '../classify/http.ts';
import type { VendorErrorClassifier } from '../classify/vendor.ts';
import { invalidResponse } from '../transport/attempt.ts';
import type { SseEvent } from '../transport/sse.ts';
import type { ChatResult, Usage } from '../types.ts';

const UsageSchema = z.object({
  prompt_tokens: z.number(),
  completion_tokens: z.number(),
  total_tokens: z.number().optional(),
  /** OpenRouter: what the call was charged, in dollars (credits). */
  cost: z.number().nonnegative().nullish(),
});

const CompletionSchema = z.object({
  model: z.string().optional(),
  choices: z
    .array(
      z.object({
        message: z.object({ content: z.string().nullish(), refusal: z.string().nullish() }),
        finish_reason: z.string().nullish(),
      }),
    )
    .min(1),
  usage: UsageSchema.nullish(),
});

const ChunkSchema = z.object({
  model: z.string().optional(),
  choices: z
    .array(
      z.object({
        delta: z.object({ content: z.string().nullish() }).nullish(),
        finish_reason: z.string().nullish(),
      }),
    )
    .optional(),
  usage: UsageSchema.nullish(),
});

function toUsage(usage: z.infer<typeof UsageSchema> | null | undefined): Usage {
  if (!usage) return { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
  return {
    promptTokens: usage.prompt_tokens,
    completionTokens: usage.completion_tokens,
    totalTokens: usage.total_tokens ?? usage.prompt_tokens + usage.completion_tokens,
    ...(typeof usage.cost === 'number' ? { costUsd: usage.cost } : {}),
  };
}

/** How a kind reads answers that stopped for a reason other than an ordinary end. */
export interface RefusalRules {
  /** finish_reason `content_filter` fails the call as content_policy instead of returning what was let through. */
  contentFilterRefuses: boolean;
}

const NO_REFUSALS: RefusalRules = { contentFilterRefuses: false };

/** The in-band failure a finish_reason stands for, if any. */
function finishFailure(finishReason: string | null | undefined, rules: RefusalRules): unknown {
  if (finishReason === 'error') return { error: { message: 'finish_reason "error"' } };
  if (finishReason === 'content_filter' && rules.contentFilterRefuses) {
    // The code is the one Azure sends for a filtered prompt, so the kind's table gives content_policy.
    return { error: { code: 'content_filter', message: 'finish_reason "content_filter": the content filter withheld the answer' } };
  }
  return undefined;
}

function hasError(value: unknown): boolean {
  return !!value && typeof value === 'object' && 'error' in value && (value as { error: unknown }).error != null;
}

/** Maps a non-streamed chat.completion (already parsed JSON) to our result, or throws a ProviderError. */
export function fromChatCompletion(
  provider: DeploymentKind,
  body: unknown,
  requestModel: string,
  classify: VendorErrorClassifier,
  rules: RefusalRules = NO_REFUSALS,
): ChatResult {
  if (hasError(body)) throw providerErrorFromHttp({ provider, status: undefined, body, classify, inBand: 'a 200 body' });
  const parsed = CompletionSchema.safeParse(body);
  if (!parsed.success) throw invalidResponse(provider, 'chat.completion body does not match the wire format (no choices[0].message)');
  const choice = parsed.data.choices[0]!;
  const failure = finishFailure(choice.finish_reason, rules);
  if (failure) throw providerErrorFromHttp({ provider, status: undefined, body: failure, classify, inBand: 'a 200 body' });
  return {
    content: choice.message.content ?? choice.message.refusal ?? '',
    finishReason: choice.finish_reason ?? 'stop',
    usage: toUsage(parsed.data.usage),
    // An empty model is what some servers send when they have no name for it.
    model: parsed.data.model || requestModel,
  };
}

/** Folds chat.completion.chunk events into a result; `push` says when `[DONE]` arrived. */
export class ChatCompletionStream {
  private content = '';
  private finishReason: string | undefined;
  private usage: Usage | undefined;
  private model: string | undefined;
  private done = false;

  constructor(
    private readonly provider: DeploymentKind,
    private readonly classify: VendorErrorClassifier,
    private readonly emit: (delta: string) => void,
    private readonly rules: RefusalRules = NO_REFUSALS,
  ) {}

  /** Returns true once the stream's terminator has been seen. */
  push(event: SseEvent): boolean {
    if (this.done) return true;
    const data = event.data.trim();
    if (data === '[DONE]') {
      this.done = true;
      return true;
    }
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch {
      throw invalidResponse(this.provider, 'stream event is not JSON');
    }
    if (event.event === 'error' || hasError(chunk)) {
      throw providerErrorFromHttp({
        provider: this.provider,
        status: undefined,
        body: chunk,
        classify: this.classify,
        inBand: 'a stream event',
      });
    }
    const parsed = ChunkSchema.safeParse(chunk);
    if (!parsed.success) throw invalidResponse(this.provider, 'stream chunk does not match chat.completion.chunk');
    if (parsed.data.model) this.model = parsed.data.model;
    if (parsed.data.usage) this.usage = toUsage(parsed.data.usage);
    const choice = parsed.data.choices?.[0];
    if (choice) {
      const failure = finishFailure(choice.finish_reason, this.rules);
      if (failure) {
        throw providerErrorFromHttp({
          provider: this.provider,
          status: undefined,
          body: failure,
          classify: this.classify,
          inBand: 'a stream event',
        });
      }
      const delta = choice.delta?.content;
      if (delta) {
        this.content += delta;
        this.emit(delta);
      }
      if (choice.finish_reason) this.finishReason = choice.finish_reason;
    }
    return false;
  }

  /** The result, once the body has ended; a stream without finish_reason and `[DONE]` is not an answer. */
  result(requestModel: string): ChatResult {
    if (!this.done) throw invalidResponse(this.provider, 'stream ended before [DONE]');
    if (!this.finishReason) throw invalidResponse(this.provider, 'stream ended without a finish_reason');
    return {
      content: this.content,
      finishReason: this.finishReason,
      usage: this.usage ?? { promptTokens: 0, completionTokens: 0, totalTokens: 0 },
      model: this.model ?? requestModel,
    };
  }
}
