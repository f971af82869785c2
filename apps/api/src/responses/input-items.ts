/**
 * Owns a stored response's input items (listInputItems, GET /v1/responses/:id/input_items): what is
 * kept of a request's `input`, the items as OpenAI returns them (`ItemResource`: a user, system or
 * developer message with `input_text` parts, an assistant message with `output_text` parts, each
 * with an id), and their pages (`ResponseItemList`, cursor `after`, `order`, `limit`).
 *
 * The texts are not kept twice: a request's input is the tail of the conversation the store keeps
 * for previous_response_id, so what is kept per item is only what that conversation lost, usually
 * nothing: the id an `item_reference` named, and the lengths of the parts of an item that did not
 * have exactly one (the conversation joins them with "\n"). As at OpenAI, a response continued with
 * previous_response_id lists only the items given to it, and `instructions` is no item.
 */
import type { ChatMessage } from '@switchyard/shared';
import { z } from 'zod';
import { type CreateResponseRequest, isItemReference } from './request.ts';
import { inputItemId, messageItemSchema, textPart } from './response.ts';

/** What is kept of one input item beside its conversation message; absent fields are the usual case. */
const inputItemShapeSchema = z.object({
  /** The id of the stored item an item_reference named: the item is listed under it. */
  ref: z.string().max(256).optional(),
  /** The text length of each content part, when the item had other than exactly one. */
  parts: z.array(z.number().int().min(0)).max(100_000).optional(),
});
export const inputShapeSchema = z.array(inputItemShapeSchema).max(1_000);
export type InputShape = z.infer<typeof inputShapeSchema>;

/** The shape of a request's `input` (already translated, so every part is a valid text part). */
export function inputShape(input: CreateResponseRequest['input']): InputShape {
  if (typeof input === 'string') return [{}];
  return input.map((item) => {
    if (isItemReference(item)) return { ref: String((item as { id?: unknown }).id) };
    if (!Array.isArray(item.content) || item.content.length === 1) return {};
    return { parts: item.content.map((part) => String((part as { text?: unknown }).text).length) };
  });
}

const inputMessageSchema = z.object({
  id: z.string(),
  type: z.literal('message'),
  role: z.enum(['user', 'system', 'developer']),
  status: z.literal('completed'),
  content: z.array(z.object({ type: z.literal('input_text'), text: z.string() })),
});

export const inputItemSchema = z.union([inputMessageSchema, messageItemSchema]);
export type InputItem = z.infer<typeof inputItemSchema>;

export const inputItemListSchema = z.object({
  object: z.literal('list'),
  data: z.array(inputItemSchema),
  /** The first and last listed item's id; "" on an empty page (the spec makes both required strings). */
  first_id: z.string(),
  last_id: z.string(),
  has_more: z.boolean(),
});
export type InputItemList = z.infer<typeof inputItemListSchema>;

export const listInputItemsQuery = z.looseObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  order: z.enum(['asc', 'desc']).default('desc'),
  after: z.string().min(1).max(256).optional(),
});

/** The parts of a joined text, cut at the kept lengths; the text as one part when they do not fit it. */
function splitParts(text: string, lengths: readonly number[] | undefined): string[] {
  if (!lengths) return [text];
  const joined = lengths.reduce((sum, n) => sum + n, 0) + Math.max(0, lengths.length - 1);
  if (joined !== text.length) return [text];
  let at = 0;
  return lengths.map((n) => {
    const part = text.slice(at, at + n);
    at += n + 1;
    return part;
  });
}

/**
 * The input items of the response of job `jobId`, first to last. `shape` absent (a record stored
 * before shapes were kept): the whole stored conversation, one single-part item per message.
 */
export function listedInputItems(jobId: string, conversation: readonly ChatMessage[], shape: InputShape | undefined): InputItem[] {
  const shapes: InputShape = shape ?? conversation.map(() => ({}));
  const messages = conversation.slice(Math.max(0, conversation.length - shapes.length));
  const ids = new Set<string>();
  return messages.map((message, index) => {
    const { ref, parts } = shapes[index] ?? {};
    // An item referenced twice is listed under its own id once: ids stay unique, so `after` is a cursor.
    const id = ref && !ids.has(ref) ? ref : inputItemId(jobId, index);
    ids.add(id);
    const texts = splitParts(message.content, parts);
    if (message.role === 'assistant') {
      return { id, type: 'message', role: 'assistant', status: 'completed', content: texts.map(textPart) };
    }
    // `tool` messages never come from this face's input; listed as user messages were one ever stored.
    const role = message.role === 'tool' ? 'user' : message.role;
    return { id, type: 'message', role, status: 'completed', content: texts.map((text) => ({ type: 'input_text', text })) };
  });
}

export interface PageQuery {
  limit: number;
  order: 'asc' | 'desc';
  after?: string | undefined;
}

/** One page of `items` (first to last) in `order`, after the item `after`; null when no item has that id. */
export function pageOf(items: readonly InputItem[], query: PageQuery): InputItemList | null {
  const ordered = query.order === 'asc' ? items : [...items].reverse();
  let start = 0;
  if (query.after !== undefined) {
    const at = ordered.findIndex((item) => item.id === query.after);
    if (at < 0) return null;
    start = at + 1;
  }
  const data = ordered.slice(start, start + query.limit);
  return {
    object: 'list',
    data,
    first_id: data[0]?.id ?? '',
    last_id: data.at(-1)?.id ?? '',
    has_more: start + query.limit < ordered.length,
  };
}
