/**
 * The job as clients submit it and as it is stored: one zod schema per shape, shared by the API
 * (validation, OpenAPI), the worker (what it reads back from BullMQ) and the CLI.
 * Wire shapes are snake_case because clients see them verbatim.
 */
import { z } from 'zod';
import { ERROR_CLASSES } from './errors.ts';

export const MAX_MESSAGES = 1_000;
export const MAX_FALLBACKS = 8;

/**
 * A model as a request names it: a route of the fleet config (`gpt-4o`, `cheap`), `<deployment>/<model>`
 * or `provider/model`. Only its shape is checked here; whether the running config can route it is
 * the API's question (404 model_not_found), since routes change with the config file.
 */
export const modelRefSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e\u00a0-\uffff]+$/, 'a model name has no spaces or control characters, e.g. "gpt-4o" or "openai/gpt-4o-mini"');

export const chatMessageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant', 'tool', 'developer']),
  content: z.string().max(1_000_000),
  name: z.string().max(64).optional(),
});
export type ChatMessage = z.infer<typeof chatMessageSchema>;

export const jobRequestSchema = z
  .object({
    model: modelRefSchema.optional(),
    messages: z.array(chatMessageSchema).min(1, 'messages needs at least one {role, content}').max(MAX_MESSAGES),
    fallbacks: z.array(modelRefSchema).max(MAX_FALLBACKS).optional(),
    max_tokens: z.number().int().positive().max(1_000_000).optional(),
    temperature: z.number().min(0).max(2).optional(),
    top_p: z.number().min(0).max(1).optional(),
    budget_ms: z.number().int().min(100).max(600_000).optional(),
    priority: z.number().int().min(0).max(1_000).optional(),
    metadata: z.record(z.string().max(64), z.unknown()).optional(),
    stream: z.boolean().optional(),
  })
  .strict();
export type JobRequest = z.infer<typeof jobRequestSchema>;

export const usageSchema = z.object({
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative(),
  total_tokens: z.number().int().nonnegative(),
  /** What the call cost in dollars, when known: the vendor's own figure, else tokens x the configured price. */
  cost_usd: z.number().nonnegative().optional(),
});
export type Usage = z.infer<typeof usageSchema>;

export const attemptOutcomeSchema = z.union([z.literal('success'), z.enum(ERROR_CLASSES)]);

/** One provider call made for a job: the router records every one, winners and losers. */
export const attemptSchema = z.object({
  /** The provider kind called (`openai`, `azure-openai`, ...). */
  provider: z.string(),
  /** The deployment called (its id); for an implicit deployment, the provider's name. */
  deployment: z.string().optional(),
  model: z.string(),
  outcome: attemptOutcomeSchema,
  /** Milliseconds after its queue-level attempt started routing that this call started. */
  started_ms: z.number().nonnegative(),
  latency_ms: z.number().nonnegative(),
  hedge: z.boolean(),
  message: z.string().optional(),
  /** The queue-level attempt (1-based) that made the call. Optional: jobs stored by older workers lack it. */
  attempt: z.number().int().positive().optional(),
});
export type Attempt = z.infer<typeof attemptSchema>;

/** The last real provider failure of a failed job: a provider's answer, never one of our own aborts. */
export const lastErrorSchema = z.object({
  class: z.enum(ERROR_CLASSES),
  message: z.string(),
  provider: z.string(),
  deployment: z.string().optional(),
});
export type LastError = z.infer<typeof lastErrorSchema>;

export const jobResultSchema = z.object({
  provider: z.string(),
  /** The deployment that answered, and the route it was reached through when the job named one. */
  deployment: z.string().optional(),
  route: z.string().optional(),
  model: z.string(),
  content: z.string(),
  finish_reason: z.string(),
  usage: usageSchema,
  latency_ms: z.number().nonnegative(),
  attempts: z.array(attemptSchema),
});
export type JobResult = z.infer<typeof jobResultSchema>;

/**
 * A failed job's whole story (CONTRACT.md): why it ended (`class`: `budget_exhausted` when its
 * budget ran out), the last real provider failure, and every call of every queue-level attempt in
 * order. New fields are optional: failures stored by older workers must still parse.
 */
export const jobErrorSchema = z.object({
  class: z.enum(ERROR_CLASSES),
  message: z.string(),
  provider: z.string().optional(),
  last_error: lastErrorSchema.optional(),
  attempts: z.array(attemptSchema).optional(),
});
export type JobError = z.infer<typeof jobErrorSchema>;

export const JOB_STATUSES = ['queued', 'active', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const jobViewSchema = z.object({
  id: z.string(),
  status: z.enum(JOB_STATUSES),
  model: z.string().optional(),
  created_at: z.string().optional(),
  finished_at: z.string().optional(),
  result: jobResultSchema.optional(),
  error: jobErrorSchema.optional(),
});
export type JobView = z.infer<typeof jobViewSchema>;
