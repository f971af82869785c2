/**
 * The Response objects and stream events the Responses face builds, for outcomes the echo worker
 * cannot produce: an answer cut at max_output_tokens (status incomplete, response.incomplete) and
 * each failure class in ResponseError's short vocabulary; input items as kept and listed, for
 * records the face never writes (part lengths that do not fit). Every object is validated against
 * OpenAI's published OpenAPI description.
 */
import { readFileSync } from 'node:fs';
import type { JobResult } from '@switchyard/shared';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { OpenAiError } from '../src/openai/errors.ts';
import { inputShape, listedInputItems, pageOf } from '../src/responses/input-items.ts';
import { KNOWN_FIELDS, rejectUnsupported } from '../src/responses/request.ts';
import { echoedSettings, failedResponse, finishedResponse, type ResponseState, responseError } from '../src/responses/response.ts';
import { responseEventRenderer } from '../src/responses/stream-events.ts';
import type { SseStream } from '../src/sse.ts';
import { assertOpenAi, OPENAI_SPEC_PATH } from './support/openai-spec.ts';

const state: ResponseState = {
  jobId: '0b7c3c0e-8f3a-4d7e-9d7e-1f2a3b4c5d6e',
  createdAt: 1_760_000_000,
  model: 'mock/echo',
  settings: echoedSettings({ input: 'x', max_output_tokens: 16 }),
};

const result = (finish_reason: string): JobResult => ({
  provider: 'mock',
  model: 'echo',
  content: 'cut short',
  finish_reason,
  usage: { prompt_tokens: 3, completion_tokens: 16, total_tokens: 19 },
  latency_ms: 5,
  attempts: [],
});

/** Records what a renderer sends, in order, as an SSE stream would carry it. */
function recordingStream() {
  const sent: Array<{ event: string | undefined; data: Record<string, unknown> }> = [];
  const sse = { send: (data: Record<string, unknown>, event?: string) => sent.push({ event, data }) } as unknown as SseStream;
  return { sse, sent };
}

describe('Response objects', () => {
  it('an answer stopped at max_output_tokens is incomplete, with the reason', () => {
    for (const [finish, reason] of [
      ['length', 'max_output_tokens'],
      ['max_tokens', 'max_output_tokens'],
      ['content_filter', 'content_filter'],
    ] as const) {
      const response = finishedResponse(state, result(finish));
      assertOpenAi('Response', response);
      expect(response.status).toBe('incomplete');
      expect(response.incomplete_details).toEqual({ reason });
      expect(response.completed_at).toBeNull();
      expect(response.output[0]?.status).toBe('incomplete');
    }
    const done = finishedResponse(state, result('stop'));
    expect(done.status).toBe('completed');
    expect(done.completed_at).toBeGreaterThan(0);
    expect(done.usage).toMatchObject({ input_tokens: 3, output_tokens: 16, total_tokens: 19 });
  });

  it("failures use ResponseError's codes", () => {
    expect(responseError('m', { class: 'rate_limited', message: 'x' }).code).toBe('rate_limit_exceeded');
    expect(responseError('m', { class: 'context_length_exceeded', message: 'x' }).code).toBe('invalid_prompt');
    expect(responseError('m', { class: 'network_error', message: 'x' }).code).toBe('server_error');
    expect(responseError('m', undefined).code).toBe('server_error');
    const failed = failedResponse(state, responseError('upstream cut', { class: 'network_error', message: 'x' }), 'half an');
    assertOpenAi('Response', failed);
    expect(failed.output[0]?.content[0]?.text).toBe('half an');
  });

  it('an error message never carries a key-shaped secret into an event or the store', () => {
    const key = 'sk-proj-Q9wE8rT7yU6iO5pA4sD3';
    const error = responseError(`openai: 401 Incorrect API key provided: ${key}`, { class: 'api_key_invalid', message: 'x' });
    expect(error.message).not.toContain(key);
    expect(error.message).toContain('[REDACTED]');
  });
});

describe('stream events', () => {
  it('an incomplete answer ends with response.incomplete, stored first', async () => {
    const { sse, sent } = recordingStream();
    const stored: Array<[string, number]> = [];
    const renderer = responseEventRenderer(state, {
      finished: async (response) => {
        stored.push([response.status, sent.length]);
      },
    });
    renderer.open(sse);
    renderer.delta(sse, 'cut ');
    renderer.delta(sse, 'short');
    await renderer.complete(sse, result('length'));
    for (const { event, data } of sent) {
      assertOpenAi('ResponseStreamEvent', data);
      expect(event).toBe(data.type);
    }
    expect(sent.map((s) => s.data.type).slice(-4)).toEqual([
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.incomplete',
    ]);
    // Stored before the last event: a client reading it back on that event finds it.
    expect(stored).toEqual([['incomplete', sent.length - 1]]);
    expect(sent.map((s) => s.data.sequence_number)).toEqual(sent.map((_, i) => i));
  });
});

describe('createResponse fields', () => {
  type Schema = { $ref?: string; allOf?: Schema[]; anyOf?: Schema[]; properties?: Record<string, unknown> };
  const schemas = (parse(readFileSync(OPENAI_SPEC_PATH, 'utf8')) as { components: { schemas: Record<string, Schema> } }).components.schemas;
  /** A schema's property names, through its allOf / anyOf parts and $refs. */
  const fields = (schema: Schema): string[] => {
    if (schema.$ref) return fields(schemas[schema.$ref.split('/').at(-1) as string] as Schema);
    return [...Object.keys(schema.properties ?? {}), ...[...(schema.allOf ?? []), ...(schema.anyOf ?? [])].flatMap(fields)];
  };
  const specFields = [...new Set(fields(schemas.CreateResponse as Schema))];

  it("every field of the spec's CreateResponse is known here (carried out, or refused when it asks for something), and no other", () => {
    expect(specFields.length).toBeGreaterThan(25);
    expect([...KNOWN_FIELDS].sort()).toEqual([...specFields].sort());
  });

  it('each field that is only accepted while inert is refused, named, as soon as it asks for something', () => {
    const asking: Record<string, unknown> = {
      tools: [{ type: 'function', name: 'f', parameters: {} }],
      tool_choice: 'required',
      max_tool_calls: 3,
      reasoning: { effort: 'low' },
      background: true,
      include: ['reasoning.encrypted_content'],
      text: { verbosity: 'low' },
      top_logprobs: 5,
      truncation: 'auto',
      service_tier: 'flex',
      conversation: { id: 'conv_1' },
      prompt: { id: 'pmpt_1' },
      context_management: [{ type: 'compaction' }],
      moderation: { model: 'omni-moderation-latest' },
    };
    for (const [field, value] of Object.entries(asking)) {
      let refused: unknown;
      try {
        rejectUnsupported({ input: 'x', [field]: value });
      } catch (err) {
        refused = err;
      }
      expect(refused, field).toBeInstanceOf(OpenAiError);
      expect((refused as OpenAiError).extra.param, field).toBe(field);
      expect((refused as OpenAiError).statusCode, field).toBe(400);
    }
  });
});

describe('input items as kept and listed', () => {
  const conversation = [
    { role: 'user' as const, content: 'earlier turn' },
    { role: 'assistant' as const, content: 'earlier answer' },
    { role: 'developer' as const, content: 'a\nb\n\nc' },
    { role: 'user' as const, content: 'plain' },
  ];

  it('keeps only what the conversation lost: references and the part lengths of items with other than one part', () => {
    expect(inputShape('hello')).toEqual([{}]);
    expect(
      inputShape([
        {
          role: 'developer',
          content: [
            { type: 'input_text', text: 'a\nb' },
            { type: 'input_text', text: '' },
            { type: 'input_text', text: 'c' },
          ],
        },
        { role: 'user', content: 'plain' },
        { role: 'user', content: [{ type: 'input_text', text: 'one part' }] },
        { role: 'user', content: [] },
        { type: 'item_reference', id: 'msg_x' },
      ]),
    ).toEqual([{ parts: [3, 0, 1] }, {}, {}, { parts: [] }, { ref: 'msg_x' }]);
  });

  it("lists the conversation's tail, parts cut back apart, each item valid; lengths that do not fit read as one part", () => {
    const items = listedInputItems(state.jobId, conversation, [{ parts: [3, 0, 1] }, {}]);
    expect(items.map((i) => [i.role, i.content.map((p) => p.text)])).toEqual([
      ['developer', ['a\nb', '', 'c']],
      ['user', ['plain']],
    ]);
    const page = pageOf(items, { limit: 20, order: 'asc' });
    assertOpenAi('ResponseItemList', page);
    const misfit = listedInputItems(state.jobId, conversation, [{ parts: [2, 2] }, {}]);
    expect(misfit[0]?.content.map((p) => p.text)).toEqual(['a\nb\n\nc']);
    expect(listedInputItems(state.jobId, [{ role: 'user', content: '' }], [{ parts: [] }])[0]?.content).toEqual([]);
    // More shapes than messages (never written so): the whole conversation, nothing invented.
    expect(listedInputItems(state.jobId, conversation.slice(0, 1), [{}, {}])).toHaveLength(1);
  });

  it('pages both ways with a cursor; an unknown cursor is null', () => {
    const items = listedInputItems(state.jobId, conversation, undefined);
    const ids = items.map((i) => i.id);
    expect(new Set(ids).size).toBe(4);
    expect(pageOf(items, { limit: 2, order: 'desc' })).toMatchObject({ first_id: ids[3], last_id: ids[2], has_more: true });
    expect(pageOf(items, { limit: 2, order: 'desc', after: ids[2] })).toMatchObject({ first_id: ids[1], last_id: ids[0], has_more: false });
    expect(pageOf(items, { limit: 3, order: 'asc', after: ids[0] })?.data.map((i) => i.id)).toEqual(ids.slice(1));
    expect(pageOf(items, { limit: 3, order: 'asc', after: 'msg_elsewhere' })).toBeNull();
  });
});
