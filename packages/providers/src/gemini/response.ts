/**
 * Owns the response side of Gemini's generateContent: GenerateContentResponse objects, whole or as
 * SSE chunks (`alt=sse`, no terminator event). A stream is an answer once a candidate carried a
 * finishReason and the body ended; a blocked prompt (promptFeedback.blockReason) is content_policy.
 */
import type { ProviderName } from '@switchyard/shared';
import { z } from 'zod';
import { providerErrorFromHttp } from '../classify/http.ts';
import { ProviderError } from '../provider-error.ts';
import { invalidResponse } from '../transport/attempt.ts';
import type { SseEvent } from '../transport/sse.ts';
import type { ChatResult, Usage } from '../types.ts';
import { classifyGeminiError } from './errors.ts';

export const GEMINI_FINISH_REASONS: Readonly<Record<string, string>> = {
  STOP: 'stop',
  MAX_TOKENS: 'length',
  SAFETY: 'content_filter',
  RECITATION: 'content_filter',
  BLOCKLIST: 'content_filter',
  PROHIBITED_CONTENT: 'content_filter',
  SPII: 'content_filter',
  IMAGE_SAFETY: 'content_filter',
  MALFORMED_FUNCTION_CALL: 'stop',
  LANGUAGE: 'content_filter',
  OTHER: 'stop',
};

const ResponseSchema = z.object({
  candidates: z
    .array(
      z.object({
        content: z
          .object({ parts: z.array(z.object({ text: z.string().optional(), thought: z.boolean().optional() })).optional() })
          .optional(),
        finishReason: z.string().optional(),
      }),
    )
    .optional(),
  promptFeedback: z.object({ blockReason: z.string().optional() }).optional(),
  usageMetadata: z
    .object({
      promptTokenCount: z.number().optional(),
      candidatesTokenCount: z.number().optional(),
      totalTokenCount: z.number().optional(),
    })
    .optional(),
  modelVersion: z.string().optional(),
});

type GeminiResponse = z.infer<typeof ResponseSchema>;

function parseChunk(provider: ProviderName, body: unknown, where: string): GeminiResponse {
  if (body && typeof body === 'object' && 'error' in body) {
    throw providerErrorFromHttp({ provider, status: undefined, body, classify: classifyGeminiError, inBand: where });
  }
  const parsed = ResponseSchema.safeParse(body);
  if (!parsed.success) throw invalidResponse(provider, `${where} is not a GenerateContentResponse`);
  const block = parsed.data.promptFeedback?.blockReason;
  if (block && !parsed.data.candidates?.length) {
    throw new ProviderError({ errorClass: 'content_policy', provider, message: `${provider}: prompt blocked (${block})` });
  }
  return parsed.data;
}

function textOf(response: GeminiResponse): string {
  const parts = response.candidates?.[0]?.content?.parts ?? [];
  // Thought summaries are not the answer.
  return parts.map((p) => (p.thought ? '' : (p.text ?? ''))).join('');
}

function usageOf(response: GeminiResponse): Usage | undefined {
  const u = response.usageMetadata;
  if (!u) return undefined;
  const prompt = u.promptTokenCount ?? 0;
  const completion = u.candidatesTokenCount ?? 0;
  return { promptTokens: prompt, completionTokens: completion, totalTokens: u.totalTokenCount ?? prompt + completion };
}

export function fromGenerateContent(provider: ProviderName, body: unknown, requestModel: string): ChatResult {
  const response = parseChunk(provider, body, 'the answer');
  const candidate = response.candidates?.[0];
  if (!candidate) throw invalidResponse(provider, 'answer has no candidates');
  return {
    content: textOf(response),
    finishReason: GEMINI_FINISH_REASONS[candidate.finishReason ?? 'STOP'] ?? 'stop',
    usage: usageOf(response) ?? { promptTokens: 0, completionTokens: 0, totalTokens: 0 },
    model: response.modelVersion ?? requestModel,
  };
}

export class GenerateContentStream {
  private content = '';
  private finishReason: string | undefined;
  private usage: Usage | undefined;
  private model: string | undefined;

  constructor(
    private readonly provider: ProviderName,
    private readonly emit: (delta: string) => void,
  ) {}

  push(event: SseEvent): void {
    let body: unknown;
    try {
      body = JSON.parse(event.data);
    } catch {
      throw invalidResponse(this.provider, 'stream event is not JSON');
    }
    const chunk = parseChunk(this.provider, body, 'a stream event');
    const text = textOf(chunk);
    if (text) {
      this.content += text;
      this.emit(text);
    }
    const reason = chunk.candidates?.[0]?.finishReason;
    if (reason) this.finishReason = reason;
    this.usage = usageOf(chunk) ?? this.usage;
    if (chunk.modelVersion) this.model = chunk.modelVersion;
  }

  result(requestModel: string): ChatResult {
    if (!this.finishReason) throw invalidResponse(this.provider, 'stream ended before a finishReason');
    return {
      content: this.content,
      finishReason: GEMINI_FINISH_REASONS[this.finishReason] ?? 'stop',
      usage: this.usage ?? { promptTokens: 0, completionTokens: 0, totalTokens: 0 },
      model: this.model ?? requestModel,
    };
  }
}
