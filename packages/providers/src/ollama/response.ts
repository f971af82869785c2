/**
 * Owns the response side of Ollama's /api/chat: one object when not streaming, NDJSON lines when
 * streaming, and the rule that only a line with `done: true` ends an answer. A line with `error`
 * is an in-band failure.
 */
import type { ProviderName } from '@switchyard/shared';
import { z } from 'zod';
import { providerErrorFromHttp } from '../classify/http.ts';
import { invalidResponse } from '../transport/attempt.ts';
import type { ChatResult } from '../types.ts';
import { classifyOllamaError } from './errors.ts';

const LineSchema = z.object({
  model: z.string().optional(),
  message: z.object({ content: z.string().optional() }).optional(),
  done: z.boolean(),
  done_reason: z.string().optional(),
  prompt_eval_count: z.number().optional(),
  eval_count: z.number().optional(),
});

type OllamaLine = z.infer<typeof LineSchema>;

function parseLine(provider: ProviderName, value: unknown, where: string): OllamaLine {
  if (value && typeof value === 'object' && 'error' in value) {
    throw providerErrorFromHttp({ provider, status: undefined, body: value, classify: classifyOllamaError, inBand: where });
  }
  const parsed = LineSchema.safeParse(value);
  if (!parsed.success) throw invalidResponse(provider, `${where} is not an /api/chat response object`);
  return parsed.data;
}

function finish(line: OllamaLine, content: string, requestModel: string): ChatResult {
  const prompt = line.prompt_eval_count ?? 0;
  const completion = line.eval_count ?? 0;
  return {
    content,
    finishReason: line.done_reason === 'length' ? 'length' : 'stop',
    usage: { promptTokens: prompt, completionTokens: completion, totalTokens: prompt + completion },
    model: line.model ?? requestModel,
  };
}

export function fromOllamaChat(provider: ProviderName, body: unknown, requestModel: string): ChatResult {
  const line = parseLine(provider, body, 'the answer');
  if (!line.done) throw invalidResponse(provider, 'answer without done: true');
  return finish(line, line.message?.content ?? '', requestModel);
}

export class OllamaChatStream {
  private content = '';
  private last: OllamaLine | undefined;

  constructor(
    private readonly provider: ProviderName,
    private readonly emit: (delta: string) => void,
  ) {}

  /** Returns true at the `done: true` line. */
  push(value: unknown): boolean {
    const line = parseLine(this.provider, value, 'a stream line');
    const delta = line.message?.content;
    if (delta) {
      this.content += delta;
      this.emit(delta);
    }
    if (line.done) this.last = line;
    return line.done;
  }

  result(requestModel: string): ChatResult {
    if (!this.last) throw invalidResponse(this.provider, 'stream ended before done: true');
    return finish(this.last, this.content, requestModel);
  }
}
