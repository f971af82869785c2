/**
 * Owns the Responses API request (createResponse) and its translation into an ordinary chat job.
 * What this face does: `input` as a string or a list of message items (roles user, assistant,
 * system, developer; text parts input_text / output_text) and references to earlier answers'
 * message items (`item_reference`, resolved by the route from the store), `instructions`, `model`,
 * `max_output_tokens`, `temperature`, `top_p`, `metadata`, `stream`, `store`,
 * `previous_response_id`. Everything else the spec names either asks for nothing (tools: [],
 * tool_choice "none" or "auto" without tools, include: [], background: false, text.format
 * "text"...), and is accepted, or is refused with a 400 naming the field: a client must never
 * believe a setting took effect when it was dropped. Fields the spec does not name are refused too.
 */
import type { ChatMessage, JobRequest } from '@switchyard/shared';
import { z } from 'zod';
import type { FleetModels } from '../fleet-models.ts';
import { OpenAiError } from '../openai/errors.ts';
import { checkedJob, resolveModels } from '../openai/request.ts';

const nullable = <T extends z.ZodType>(schema: T) => schema.nullable().optional();

export const RESPONSE_ROLES = ['user', 'assistant', 'system', 'developer'] as const;

/** Input items are checked one by one in translateInput, so a bad one is named exactly. */
const inputItem = z.looseObject({ type: z.string().optional(), role: z.string().optional(), content: z.unknown().optional() });

export const createResponseSchema = z.looseObject({
  model: z.string().min(1).max(200).optional(),
  input: z.union([z.string().max(1_000_000), z.array(inputItem).min(1, 'input needs at least one item').max(1_000)]),
  instructions: nullable(z.string().max(1_000_000)),
  max_output_tokens: nullable(z.number().int().positive().max(1_000_000)),
  temperature: nullable(z.number().min(0).max(2)),
  top_p: nullable(z.number().min(0).max(1)),
  metadata: nullable(
    z.record(z.string().max(64), z.string().max(512)).refine((m) => Object.keys(m).length <= 16, 'metadata holds at most 16 keys'),
  ),
  stream: nullable(z.boolean()),
  store: nullable(z.boolean()),
  previous_response_id: nullable(z.string().min(1).max(200)),
});
export type CreateResponseRequest = z.infer<typeof createResponseSchema>;

const SUPPORTED = new Set(Object.keys(createResponseSchema.shape));

const isEmpty = (v: unknown) => v === null || v === undefined || (Array.isArray(v) && v.length === 0);
const isEmptyObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;

/**
 * Fields of createResponse that change nothing here, or only in a value that asks for nothing:
 * each returns why the given value cannot be honoured, or null when it is harmless.
 */
const ONLY_WHEN_INERT: Record<string, (value: unknown, body: Record<string, unknown>) => string | null> = {
  tools: (v) => (isEmpty(v) ? null : 'tools (function calling, built-in tools) are not supported on this gateway'),
  tool_choice: (v, body) =>
    v === null || v === undefined || v === 'none' || (v === 'auto' && isEmpty(body.tools))
      ? null
      : 'tool_choice needs tools, which are not supported',
  parallel_tool_calls: () => null, // without tools there is nothing to run in parallel
  max_tool_calls: (v) => (v === null || v === undefined ? null : 'max_tool_calls needs tools, which are not supported'),
  reasoning: (v) => (v === null || v === undefined || isEmptyObject(v) ? null : 'reasoning settings are not supported'),
  background: (v) =>
    v === null || v === undefined || v === false ? null : 'background mode is not supported: responses run while the request waits',
  include: (v) => (isEmpty(v) ? null : 'include is not supported: there is nothing extra to include'),
  text: (v) => textProblem(v),
  top_logprobs: (v) => (v === null || v === undefined || v === 0 ? null : 'top_logprobs is not supported'),
  truncation: (v) =>
    v === null || v === undefined || v === 'disabled' ? null : 'truncation "auto" is not supported: an input over the context window fails',
  service_tier: (v) =>
    v === null || v === undefined || v === 'auto' || v === 'default'
      ? null
      : 'service_tier other than "auto" or "default" is not supported',
  conversation: (v) => (v === null || v === undefined ? null : 'conversation objects are not supported: use previous_response_id'),
  prompt: (v) => (v === null || v === undefined ? null : 'prompt templates are not supported: send input and instructions'),
  context_management: (v) => (isEmpty(v) ? null : 'context_management is not supported'),
  moderation: (v) => (v === null || v === undefined ? null : 'moderation is not supported'),
  // Hints for OpenAI's own caching and abuse detection: they never change an answer.
  user: () => null,
  safety_identifier: () => null,
  prompt_cache_key: () => null,
  prompt_cache_retention: () => null,
  prompt_cache_options: () => null,
  // Obfuscation pads deltas against a side channel of OpenAI's own network path; none is added here.
  stream_options: () => null,
};

/** Every createResponse field this face knows: carried out, or accepted only while it asks for nothing. */
export const KNOWN_FIELDS: readonly string[] = [...SUPPORTED, ...Object.keys(ONLY_WHEN_INERT)];

function textProblem(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object' || Array.isArray(value)) return 'text must be an object';
  const { format, verbosity, ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0) return `text.${Object.keys(rest)[0]} is not supported`;
  if (verbosity !== undefined && verbosity !== null) return 'text.verbosity is not supported';
  if (format === undefined || format === null) return null;
  const type = (format as { type?: unknown }).type;
  return type === 'text' ? null : `text.format "${String(type).slice(0, 40)}" is not supported: only plain text ({"type":"text"}) is`;
}

export function unsupported(param: string, message: string): OpenAiError {
  return new OpenAiError(400, 'invalid_request_error', `Unsupported parameter: ${param}: ${message}.`, {
    code: 'unsupported_parameter',
    param,
  });
}

/** Throws a 400 for the first field this face cannot honour. */
export function rejectUnsupported(body: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(body)) {
    if (SUPPORTED.has(name)) continue;
    const check = ONLY_WHEN_INERT[name];
    if (!check) throw unsupported(name, 'not a createResponse field this gateway knows; remove it');
    const problem = check(value, body);
    if (problem) throw unsupported(name, `${problem}; remove it`);
  }
}

/** A query value that asks for something: present, and neither empty nor false. */
const asks = (v: unknown) => v !== undefined && v !== '' && v !== 'false' && v !== '0' && !(Array.isArray(v) && v.every((x) => x === ''));

/** `include` in a query (`include=` or `include[]=`, as SDKs send arrays) asks for extra fields this face never has: a 400 naming it. */
export function rejectIncludeQuery(query: Record<string, unknown>): void {
  for (const name of ['include', 'include[]']) {
    if (asks(query[name])) throw unsupported('include', 'include is not supported: there is nothing extra to include; remove it');
  }
}

/**
 * getResponse's query: `stream=true` (replaying a stored response as events), `include` and
 * `starting_after` (a replay's resume point) ask for what this face does not do, so each is a 400
 * naming it; `include_obfuscation` and values that ask for nothing are accepted.
 */
export function rejectUnsupportedRetrieve(query: Record<string, unknown>): void {
  if (asks(query.stream)) {
    throw unsupported('stream', 'replaying a stored response as stream events is not supported: read it as JSON; remove it');
  }
  rejectIncludeQuery(query);
  if (query.starting_after !== undefined) {
    throw unsupported('starting_after', 'starting_after resumes a replayed stream, which is not supported; remove it');
  }
}

function inputError(param: string, message: string): OpenAiError {
  return new OpenAiError(400, 'invalid_request_error', `Invalid input: ${param}: ${message}`, { code: 'unsupported_input', param });
}

function partsText(content: unknown, param: string): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw inputError(`${param}.content`, 'content must be a string or a list of input_text parts.');
  return content
    .map((part: unknown, j) => {
      const at = `${param}.content[${j}]`;
      const { type, text } = (part ?? {}) as { type?: unknown; text?: unknown };
      if (type !== 'input_text' && type !== 'output_text') {
        throw inputError(at, `content part type "${String(type).slice(0, 40)}" is not supported: only input_text and output_text are.`);
      }
      if (typeof text !== 'string') throw inputError(`${at}.text`, 'a text part needs a string "text".');
      return text;
    })
    .join('\n');
}

/**
 * An item reference: `{type: "item_reference", id}` (the spec lets `type` be left out, so an item
 * with an id and neither a type nor a role is one too). Clients that store (the AI SDK's default
 * provider) send an earlier answer back this way instead of its text.
 */
export function isItemReference(item: { type?: unknown; role?: unknown; id?: unknown }): boolean {
  return item.type === 'item_reference' || ((item.type === undefined || item.type === null) && item.role === undefined && 'id' in item);
}

/** The item references in `input`, by position: the route looks each up before translating. */
export function itemReferences(input: CreateResponseRequest['input']): Array<{ index: number; id: string }> {
  if (typeof input === 'string') return [];
  return input.flatMap((item, index) => {
    if (!isItemReference(item)) return [];
    const { id } = item as { id?: unknown };
    if (typeof id !== 'string' || id.length === 0 || id.length > 256) {
      throw inputError(`input[${index}].id`, 'an item_reference needs the string id of a stored message item.');
    }
    return [{ index, id }];
  });
}

/**
 * `input` as chat messages. `references` holds the text of each referenced item (by id), looked up
 * by the route: a referenced answer becomes an assistant message.
 */
export function translateInput(input: CreateResponseRequest['input'], references: ReadonlyMap<string, string> = new Map()): ChatMessage[] {
  if (typeof input === 'string') return [{ role: 'user', content: input }];
  return input.map((item, i) => {
    const param = `input[${i}]`;
    if (isItemReference(item)) {
      const text = references.get(String((item as { id?: unknown }).id));
      if (text === undefined) throw inputError(param, 'the referenced item was not found.');
      return { role: 'assistant', content: text };
    }
    if (item.type !== undefined && item.type !== 'message') {
      throw inputError(param, `item type "${String(item.type).slice(0, 40)}" is not supported: only message items are.`);
    }
    if (!RESPONSE_ROLES.includes(item.role as (typeof RESPONSE_ROLES)[number])) {
      throw inputError(`${param}.role`, `role must be one of ${RESPONSE_ROLES.join(', ')}.`);
    }
    return { role: item.role as ChatMessage['role'], content: partsText(item.content, param) };
  });
}

/** A stored conversation this request continues: its input and its answer. */
export interface PriorTurn {
  messages: ChatMessage[];
  output: string;
}

export interface TranslatedResponseRequest {
  job: JobRequest;
  /** The model asked for (or the default), as the chat face resolves it. */
  model: string;
  /** The conversation so far without instructions: what a later previous_response_id continues. */
  conversation: ChatMessage[];
}

export function translateResponseRequest(
  body: CreateResponseRequest,
  models: FleetModels,
  prior: PriorTurn | null,
  references: ReadonlyMap<string, string> = new Map(),
): TranslatedResponseRequest {
  rejectUnsupported(body);
  const { primary } = resolveModels(body.model, undefined, models);
  const conversation = [
    ...(prior ? [...prior.messages, { role: 'assistant' as const, content: prior.output }] : []),
    ...translateInput(body.input, references),
  ];
  // Instructions are per request: a continued conversation does not carry the previous ones.
  const messages = body.instructions ? [{ role: 'system' as const, content: body.instructions }, ...conversation] : conversation;
  const job = checkedJob({
    model: primary,
    messages,
    ...(body.max_output_tokens ? { max_tokens: body.max_output_tokens } : {}),
    ...(body.temperature !== undefined && body.temperature !== null ? { temperature: body.temperature } : {}),
    ...(body.top_p !== undefined && body.top_p !== null ? { top_p: body.top_p } : {}),
    stream: body.stream === true,
    metadata: { via: 'responses' },
  });
  return { job, model: primary, conversation };
}
