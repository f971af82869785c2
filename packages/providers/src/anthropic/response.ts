/**
 * Owns the response side of Anthropic's Messages API: the `message` object and the named SSE events
 * (message_start, content_block_delta, message_delta, message_stop, ping, error). A stream is an
 * answer only once `message_stop` arrived; an `error` event is an in-band failure.
 */
import type { ProviderName } from '@switchyard/shared';
import { z } from 'zod';
import { providerErrorFromHttp } from '../classify/http.ts';
import { invalidResponse } from '../transport/attempt.ts';
import type { SseEvent } from '../transport/sse.ts';
import type { ChatResult } from '../types.ts';
import { classifyAnthropicError } from './errors.ts';

/** Anthropic stop reasons in OpenAI's vocabulary. */
export const ANTHROPIC_STOP_REASONS: Readonly<Record<string, string>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

const MessageSchema = z.object({
  type: z.literal('message'),
  model: z.string().optional(),
  content: z.array(z.object({ type: z.string(), text: z.string().optional() })),
  stop_reason: z.string().nullish(),
  usage: z.object({ input_tokens: z.number(), output_tokens: z.number() }).nullish(),
});

export function fromMessage(provider: ProviderName, body: unknown, requestModel: string): ChatResult {
  if (body && typeof body === 'object' && (body as { type?: unknown }).type === 'error') {
    throw providerErrorFromHttp({ provider, status: undefined, body, classify: classifyAnthropicError, inBand: 'a 200 body' });
  }
  const parsed = MessageSchema.safeParse(body);
  if (!parsed.success) throw invalidResponse(provider, 'messages answer is not a `message` object');
  const { content, stop_reason: stopReason, usage, model } = parsed.data;
  const input = usage?.input_tokens ?? 0;
  const output = usage?.output_tokens ?? 0;
  return {
    content: content.map((block) => (block.type === 'text' ? (block.text ?? '') : '')).join(''),
    finishReason: ANTHROPIC_STOP_REASONS[stopReason ?? 'end_turn'] ?? 'stop',
    usage: { promptTokens: input, completionTokens: output, totalTokens: input + output },
    model: model ?? requestModel,
  };
}

/** Folds the named events into a result; `push` returns true at message_stop. */
export class MessageStream {
  private content = '';
  private stopReason: string | undefined;
  private inputTokens = 0;
  private outputTokens = 0;
  private model: string | undefined;
  private started = false;
  private stopped = false;

  constructor(
    private readonly provider: ProviderName,
    private readonly emit: (delta: string) => void,
  ) {}

  push(event: SseEvent): boolean {
    let data: Record<string, unknown>;
    try {
      data = JSON.parse(event.data) as Record<string, unknown>;
    } catch {
      throw invalidResponse(this.provider, `stream event ${event.event ?? '(unnamed)'} is not JSON`);
    }
    const type = event.event ?? (typeof data.type === 'string' ? data.type : undefined);
    switch (type) {
      case 'message_start': {
        this.started = true;
        const message = data.message as { model?: unknown; usage?: { input_tokens?: unknown; output_tokens?: unknown } } | undefined;
        if (typeof message?.model === 'string') this.model = message.model;
        if (typeof message?.usage?.input_tokens === 'number') this.inputTokens = message.usage.input_tokens;
        if (typeof message?.usage?.output_tokens === 'number') this.outputTokens = message.usage.output_tokens;
        return false;
      }
      case 'content_block_delta': {
        const delta = data.delta as { type?: unknown; text?: unknown } | undefined;
        if (delta?.type === 'text_delta' && typeof delta.text === 'string' && delta.text) {
          this.content += delta.text;
          this.emit(delta.text);
        }
        return false;
      }
      case 'message_delta': {
        const delta = data.delta as { stop_reason?: unknown } | undefined;
        if (typeof delta?.stop_reason === 'string') this.stopReason = delta.stop_reason;
        const usage = data.usage as { output_tokens?: unknown; input_tokens?: unknown } | undefined;
        // message_delta usage is cumulative.
        if (typeof usage?.output_tokens === 'number') this.outputTokens = usage.output_tokens;
        if (typeof usage?.input_tokens === 'number') this.inputTokens = usage.input_tokens;
        return false;
      }
      case 'message_stop':
        this.stopped = true;
        return true;
      case 'error':
        throw providerErrorFromHttp({
          provider: this.provider,
          status: undefined,
          body: data,
          classify: classifyAnthropicError,
          inBand: 'a stream event',
        });
      default:
        // ping, content_block_start/stop, and event types added by later API versions.
        return false;
    }
  }

  result(requestModel: string): ChatResult {
    if (!this.started) throw invalidResponse(this.provider, 'stream ended before message_start');
    if (!this.stopped) throw invalidResponse(this.provider, 'stream ended before message_stop');
    return {
      content: this.content,
      finishReason: ANTHROPIC_STOP_REASONS[this.stopReason ?? 'end_turn'] ?? 'stop',
      usage: { promptTokens: this.inputTokens, completionTokens: this.outputTokens, totalTokens: this.inputTokens + this.outputTokens },
      model: this.model ?? requestModel,
    };
  }
}
