/**
 * Owns the OpenAI-compatible request: a liberal zod schema of createChatCompletion's body (fields
 * we do not use are accepted and ignored, as OpenAI-compatible servers do), and its translation
 * into a Switchyard JobRequest: `provider/model` names, OpenRouter's `models` fallback list,
 * text content parts, max_tokens / max_completion_tokens, temperature, top_p.
 */
import { type JobRequest, jobRequestSchema, MAX_FALLBACKS } from '@switchyard/shared';
import { z } from 'zod';
import type { FleetModels } from '../fleet-models.ts';
import { OpenAiError } from './errors.ts';

const textPart = z.looseObject({ type: z.literal('text'), text: z.string() });
const otherPart = z.looseObject({ type: z.string() });

const message = z.looseObject({
  role: z.enum(['system', 'user', 'assistant', 'tool', 'developer', 'function']),
  content: z
    .union([z.string(), z.array(z.union([textPart, otherPart])).max(1_000)])
    .nullable()
    .optional(),
  name: z.string().max(64).optional(),
});

const nullableNumber = (schema: z.ZodNumber) => schema.nullable().optional();

export const chatCompletionRequestSchema = z.looseObject({
  model: z.string().min(1).max(200).optional(),
  /** OpenRouter's fallback list: tried in order after `model`. */
  models: z
    .array(z.string().min(1).max(200))
    .max(MAX_FALLBACKS + 1)
    .optional(),
  messages: z.array(message).min(1, 'messages needs at least one {role, content}').max(1_000),
  max_tokens: nullableNumber(z.number().int().positive().max(1_000_000)),
  max_completion_tokens: nullableNumber(z.number().int().positive().max(1_000_000)),
  temperature: nullableNumber(z.number().min(0).max(2)),
  top_p: nullableNumber(z.number().min(0).max(1)),
  n: nullableNumber(z.number().int().min(1).max(1)),
  stream: z.boolean().nullable().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullable().optional() }).nullable().optional(),
});
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;

export interface TranslatedRequest {
  job: JobRequest;
  /** The model the client asked for first, as `provider/model`. */
  model: string;
  stream: boolean;
  includeUsage: boolean;
}

/** `ref` if the running fleet config can route it, or a 404 in OpenAI's shape (code model_not_found). */
export function resolveModel(ref: string, models: FleetModels, param: string): string {
  const check = models.check(ref);
  if (!check.ok)
    throw new OpenAiError(404, 'invalid_request_error', check.message ?? `The model "${ref}" does not exist.`, {
      code: 'model_not_found',
      param,
    });
  return ref;
}

function contentText(content: ChatCompletionRequest['messages'][number]['content'], index: number): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  const texts: string[] = [];
  content.forEach((part, j) => {
    if (part.type === 'text') {
      if (typeof part.text !== 'string') {
        throw new OpenAiError(400, 'invalid_request_error', 'A text content part needs a string "text".', {
          code: 'invalid_type',
          param: `messages[${index}].content[${j}].text`,
        });
      }
      texts.push(part.text);
    } else if (part.type !== 'refusal') {
      throw new OpenAiError(
        400,
        'invalid_request_error',
        `Content part type "${String(part.type).slice(0, 40)}" is not supported: only text parts are.`,
        {
          code: 'unsupported_content',
          param: `messages[${index}].content[${j}]`,
        },
      );
    }
  });
  return texts.join('\n');
}

/**
 * The job's candidates from a face's `model` (and OpenRouter's `models`), each resolved as the chat
 * face resolves it; the config's default route (else DEFAULT_MODEL) when none is named. Every face calls this, so a change to how
 * models resolve reaches them all.
 */
export function resolveModels(model: string | undefined, models: readonly string[] | undefined, catalog: FleetModels) {
  const names = [...(model ? [model] : []), ...(models ?? [])];
  const resolved = names.map((name, i) => resolveModel(name, catalog, model && i === 0 ? 'model' : `models[${model ? i - 1 : i}]`));
  const unique = resolved.filter((m, i) => resolved.indexOf(m) === i);
  const primary = unique[0] ?? catalog.defaultModel;
  const fallbacks = unique.slice(1);
  if (fallbacks.length > MAX_FALLBACKS) {
    throw new OpenAiError(400, 'invalid_request_error', `At most ${MAX_FALLBACKS} fallback models are allowed.`, {
      code: 'too_many_models',
      param: 'models',
    });
  }
  return { primary, fallbacks };
}

/** `candidate` checked against the job schema, or a 400 in OpenAI's shape naming the first bad field. */
export function checkedJob(candidate: JobRequest): JobRequest {
  const checked = jobRequestSchema.safeParse(candidate);
  if (checked.success) return checked.data;
  const issue = checked.error.issues[0];
  const param = issue ? issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('') : null;
  throw new OpenAiError(400, 'invalid_request_error', `Invalid request: ${param ?? 'body'}: ${issue?.message ?? 'invalid'}`, {
    code: 'invalid_value',
    param,
  });
}

export function translateRequest(body: ChatCompletionRequest, models: FleetModels): TranslatedRequest {
  const { primary, fallbacks } = resolveModels(body.model, body.models, models);
  const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? undefined;
  const job = checkedJob({
    model: primary,
    messages: body.messages.map((m, i) => ({
      role: m.role === 'function' ? 'tool' : m.role,
      content: contentText(m.content, i),
      ...(m.name ? { name: m.name } : {}),
    })),
    ...(fallbacks.length > 0 ? { fallbacks } : {}),
    ...(maxTokens !== undefined ? { max_tokens: maxTokens } : {}),
    ...(body.temperature !== undefined && body.temperature !== null ? { temperature: body.temperature } : {}),
    ...(body.top_p !== undefined && body.top_p !== null ? { top_p: body.top_p } : {}),
    stream: body.stream === true,
    metadata: { via: 'chat.completions' },
  });
  return {
    job,
    model: primary,
    stream: body.stream === true,
    includeUsage: body.stream_options?.include_usage === true,
  };
}
