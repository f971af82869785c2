/**
 * The Responses face (/v1/responses) with the official `openai` SDK as the client, unchanged,
 * against the real API on a real port, a real Redis and apps/worker's JobWorker (echo runner: see
 * support/echo-worker.ts for its `fail:`, `midfail:` and `sleep:` prompts). Every response and every
 * stream event is validated against OpenAI's published OpenAPI description.
 */

import { waitFor } from '@switchyard/shared/testing';
import OpenAI, { type APIError, BadRequestError, NotFoundError, RateLimitError } from 'openai';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { responseKey } from '../src/responses/store.ts';
import { startTestApi, type TestApi } from './harness.ts';
import { type EchoWorker, startEchoWorker } from './support/echo-worker.ts';
import { assertOpenAi } from './support/openai-spec.ts';

const KEY = 'responses-key-0001';
const OTHER_KEY = 'responses-key-0002';
let api: TestApi;
let worker: EchoWorker;
let baseURL: string;
let client: OpenAI;
let other: OpenAI;

beforeAll(async () => {
  api = await startTestApi({ API_KEYS: `${KEY},${OTHER_KEY}`, RATE_LIMIT_RPM: '0', RESULT_TTL_S: '600' });
  const address = await api.app.listen({ host: '127.0.0.1', port: 0 });
  baseURL = `${address}/v1`;
  worker = await startEchoWorker({ REDIS_URL: api.redisUrl, SWITCHYARD_NAMESPACE: api.namespace });
  client = new OpenAI({ apiKey: KEY, baseURL, maxRetries: 0, timeout: 20_000 });
  other = new OpenAI({ apiKey: OTHER_KEY, baseURL, maxRetries: 0, timeout: 20_000 });
});
afterAll(async () => {
  await worker?.close();
  await api?.close();
});

const jobOf = async (responseId: string) => (await api.ctx.jobs.queue.getJob(responseId.slice('resp_'.length)))?.data.request;

/** A GET with `query` that must be refused: 400, an ErrorResponse by the spec; its error. */
async function refusedQuery(path: string, query: string): Promise<{ param: string; type: string }> {
  const res = await fetch(`${baseURL}${path}?${query}`, { headers: { authorization: `Bearer ${KEY}` } });
  expect(res.status, query).toBe(400);
  const body = (await res.json()) as { error: { param: string; type: string } };
  assertOpenAi('ErrorResponse', body);
  return body.error;
}

async function collect(params: Omit<OpenAI.Responses.ResponseCreateParamsStreaming, 'stream'>): Promise<ResponseStreamEvent[]> {
  const stream = await client.responses.create({ ...params, stream: true });
  const events: ResponseStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

describe('plain responses', () => {
  it('answers a string input with a Response object, stored and readable by its id', async () => {
    const { data, response } = await client.responses.create({ model: 'mock/echo', input: 'hello responses' }).withResponse();
    const { output_text, ...raw } = data;
    assertOpenAi('Response', raw);
    expect(data.id).toMatch(/^resp_/);
    expect(data.object).toBe('response');
    expect(data.status).toBe('completed');
    expect(data.model).toBe('mock/echo');
    expect(output_text).toBe('hello responses');
    expect(data.output).toEqual([
      {
        id: expect.stringMatching(/^msg_/),
        type: 'message',
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text: 'hello responses', annotations: [], logprobs: [] }],
      },
    ]);
    expect(data.usage?.total_tokens).toBe((data.usage?.input_tokens ?? 0) + (data.usage?.output_tokens ?? 0));
    expect(data.usage?.output_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-switchyard-job-id')).toBe(data.id.slice('resp_'.length));

    const again = await client.responses.retrieve(data.id);
    assertOpenAi('Response', { ...again, output_text: undefined });
    expect(again.output).toEqual(data.output);
    expect(again.id).toBe(data.id);
  });

  it('takes message items (every role, input_text and output_text parts), instructions and the sampling settings', async () => {
    const data = await client.responses.create({
      model: 'mock/echo',
      instructions: 'be brief',
      input: [
        { role: 'system', content: 'system rules' },
        { role: 'developer', content: [{ type: 'input_text', text: 'developer rules' }] },
        { role: 'user', content: 'first question' },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'first answer', annotations: [] }] } as never,
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'part one' },
            { type: 'input_text', text: 'part two' },
          ],
        },
      ],
      max_output_tokens: 64,
      temperature: 0.3,
      top_p: 0.8,
      metadata: { team: 'a' },
    });
    assertOpenAi('Response', { ...data, output_text: undefined });
    expect(data.output_text).toBe('part one\npart two');
    expect(data).toMatchObject({ instructions: 'be brief', max_output_tokens: 64, temperature: 0.3, top_p: 0.8, metadata: { team: 'a' } });
    expect(await jobOf(data.id)).toMatchObject({
      model: 'mock/echo',
      max_tokens: 64,
      temperature: 0.3,
      top_p: 0.8,
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'system', content: 'system rules' },
        { role: 'developer', content: 'developer rules' },
        { role: 'user', content: 'first question' },
        { role: 'assistant', content: 'first answer' },
        { role: 'user', content: 'part one\npart two' },
      ],
    });
  });

  it('previous_response_id continues a stored conversation; its instructions are not carried over', async () => {
    const first = await client.responses.create({ model: 'mock/echo', instructions: 'first rules', input: 'my name is Ada' });
    const second = await client.responses.create({ model: 'mock/echo', previous_response_id: first.id, input: 'what is my name?' });
    assertOpenAi('Response', { ...second, output_text: undefined });
    expect(second.previous_response_id).toBe(first.id);
    expect((await jobOf(second.id))?.messages).toEqual([
      { role: 'user', content: 'my name is Ada' },
      { role: 'assistant', content: 'my name is Ada' },
      { role: 'user', content: 'what is my name?' },
    ]);
    const third = await client.responses.create({ model: 'mock/echo', previous_response_id: second.id, input: 'and again?' });
    expect((await jobOf(third.id))?.messages.map((m) => m.content)).toEqual([
      'my name is Ada',
      'my name is Ada',
      'what is my name?',
      'what is my name?',
      'and again?',
    ]);
  });

  it("an item_reference to an earlier answer's message item brings its text back as an assistant message; only for its owner", async () => {
    const first = await client.responses.create({ model: 'mock/echo', input: 'the word is amber' });
    const itemId = first.output[0]?.id as string;
    const input: OpenAI.Responses.ResponseInput = [
      { role: 'user', content: 'the word is amber' },
      { type: 'item_reference', id: itemId },
      { role: 'user', content: 'which word?' },
    ];
    const second = await client.responses.create({ model: 'mock/echo', input });
    assertOpenAi('Response', { ...second, output_text: undefined });
    expect(second.output_text).toBe('which word?');
    expect((await jobOf(second.id))?.messages).toEqual([
      { role: 'user', content: 'the word is amber' },
      { role: 'assistant', content: 'the word is amber' },
      { role: 'user', content: 'which word?' },
    ]);
    // The spec lets `type` be left out of a reference.
    const untyped = await client.responses.create({ model: 'mock/echo', input: [{ id: itemId } as never, { role: 'user', content: 'x' }] });
    expect((await jobOf(untyped.id))?.messages[0]).toEqual({ role: 'assistant', content: 'the word is amber' });

    const unknownItem = `msg_${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`;
    const refusal = async (who: OpenAI, id: string) =>
      (await who.responses.create({ model: 'mock/echo', input: [{ type: 'item_reference', id }] }).catch((e) => e)) as APIError;
    const theirs = await refusal(other, itemId);
    const unknown = await refusal(other, unknownItem);
    expect(theirs).toBeInstanceOf(BadRequestError);
    expect(theirs.code).toBe('item_not_found');
    expect(theirs.param).toBe('input[0]');
    assertOpenAi('ErrorResponse', { error: theirs.error });
    expect(JSON.stringify(theirs.error).replaceAll(itemId, 'ID')).toBe(JSON.stringify(unknown.error).replaceAll(unknownItem, 'ID'));
    expect((await refusal(client, first.id)).code).toBe('item_not_found'); // a response id is not an item id
    expect((await refusal(client, '')).param).toBe('input[0].id');
  });

  it('store: false answers without keeping the response', async () => {
    const data = await client.responses.create({ model: 'mock/echo', input: 'forget me', store: false });
    expect(data.status).toBe('completed');
    expect((data as { store?: boolean }).store).toBe(false);
    await expect(client.responses.retrieve(data.id)).rejects.toBeInstanceOf(NotFoundError);
    const continued = await client.responses.create({ model: 'mock/echo', input: 'x', previous_response_id: data.id }).catch((e) => e);
    expect(continued).toBeInstanceOf(BadRequestError);
    expect(continued.param).toBe('previous_response_id');
  });

  it('DELETE removes a stored response', async () => {
    const data = await client.responses.create({ model: 'mock/echo', input: 'delete me' });
    const res = await fetch(`${baseURL}/responses/${data.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${KEY}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: data.id, object: 'response', deleted: true });
    await expect(client.responses.retrieve(data.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(client.responses.delete(data.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('is stored under its own key with a TTL and the owner as a digest; a bad record reads as missing', async () => {
    const data = await client.responses.create({ model: 'mock/echo', input: 'where am I kept' });
    const key = responseKey(api.namespace, data.id);
    const ttl = await api.ctx.redis.ttl(key);
    expect(ttl).toBeGreaterThan(500);
    expect(ttl).toBeLessThanOrEqual(600);
    const raw = (await api.ctx.redis.get(key)) as string;
    expect(JSON.parse(raw).owner).toMatch(/^[0-9a-f]{64}$/);
    expect(raw).not.toContain(KEY);
    await api.ctx.redis.set(key, JSON.stringify({ ...JSON.parse(raw), response: { id: data.id } }), 'EX', 60);
    await expect(client.responses.retrieve(data.id)).rejects.toBeInstanceOf(NotFoundError);
    expect(api.logLines.some((line) => line.includes('stored response is unreadable'))).toBe(true);
  });
});

describe('streamed responses', () => {
  const ORDER_HEAD = ['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added'];
  const ORDER_TAIL = ['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed'];

  it('sends the typed events in order with sequence numbers, each valid, and stores the final response', async () => {
    const text = 'the quick brown fox jumps over the lazy dog again and again';
    const events = await collect({ model: 'mock/echo', input: text });
    for (const event of events) assertOpenAi('ResponseStreamEvent', event);
    const types = events.map((e) => e.type);
    expect(types.slice(0, 4)).toEqual(ORDER_HEAD);
    expect(types.slice(-4)).toEqual(ORDER_TAIL);
    const deltas = events.filter((e) => e.type === 'response.output_text.delta');
    expect(deltas.length).toBe(types.length - 8);
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.map((e) => e.delta).join('')).toBe(text);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const done = events.find((e) => e.type === 'response.output_text.done');
    expect(done?.type === 'response.output_text.done' && done.text).toBe(text);
    const completed = events.at(-1);
    if (completed?.type !== 'response.completed') throw new Error('no response.completed');
    expect(completed.response.status).toBe('completed');
    expect(completed.response.output[0]).toMatchObject({ type: 'message', content: [{ type: 'output_text', text }] });
    expect(completed.response.usage?.output_tokens).toBeGreaterThan(0);
    const stored = await client.responses.retrieve(completed.response.id);
    expect(stored.output).toEqual(completed.response.output);
  });

  it("the SDK's own stream helper assembles the final response from the events", async () => {
    const stream = client.responses.stream({ model: 'mock/echo', input: 'assembled from the events' });
    const deltas: string[] = [];
    stream.on('response.output_text.delta', (event) => deltas.push(event.delta));
    const final = await stream.finalResponse();
    expect(final.output_text).toBe('assembled from the events');
    expect(deltas.join('')).toBe('assembled from the events');
    expect(final.status).toBe('completed');
  });

  it('fills in tokens that never arrived from the final result', async () => {
    const text = 'partial: one two three four five six seven eight';
    const events = await collect({ model: 'mock/echo', input: text });
    for (const event of events) assertOpenAi('ResponseStreamEvent', event);
    expect(events.flatMap((e) => (e.type === 'response.output_text.delta' ? [e.delta] : [])).join('')).toBe(text);
    expect(events.at(-1)?.type).toBe('response.completed');
  });

  it('a provider failing after the first token ends the stream with response.failed carrying the error', async () => {
    const events = await collect({ model: 'mock/echo', input: 'midfail: one two three four five six' });
    for (const event of events) assertOpenAi('ResponseStreamEvent', event);
    expect(events.slice(0, 4).map((e) => e.type)).toEqual(ORDER_HEAD);
    expect(events.some((e) => e.type === 'response.output_text.delta')).toBe(true);
    const failed = events.at(-1);
    if (failed?.type !== 'response.failed') throw new Error(`ended with ${failed?.type}`);
    expect(failed.response.status).toBe('failed');
    expect(failed.response.error?.code).toBe('server_error');
    expect(failed.response.error?.message).toContain('service_unavailable');
    expect(events.some((e) => e.type === 'response.completed')).toBe(false);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    expect((await client.responses.retrieve(failed.response.id)).status).toBe('failed');
    const continued = (await client.responses
      .create({ model: 'mock/echo', input: 'go on', previous_response_id: failed.response.id })
      .catch((e) => e)) as APIError;
    expect(continued).toBeInstanceOf(BadRequestError);
    expect(continued.code).toBe('previous_response_failed');
  });

  it('a client that hangs up on a stream cancels its job and nothing is stored, as on the chat face', async () => {
    const controller = new AbortController();
    const before = worker.started.length;
    const request = client.responses
      .create({ model: 'mock/echo', input: 'sleep:10000 never streamed', stream: true }, { signal: controller.signal })
      .catch((e: unknown) => e);
    await waitFor(() => worker.started.length > before, 'the worker to start the job', 10_000);
    const id = worker.started.at(-1) as string;
    controller.abort();
    await request;
    await waitFor(async () => (await api.ctx.jobs.view(id))?.status === 'cancelled', 'the job to be cancelled', 10_000);
    await expect(client.responses.retrieve(`resp_${id}`)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('a failure before the first token is a typed HTTP error, as on the chat face', async () => {
    const early = client.responses.create({ model: 'mock/echo', input: 'fail:rate_limited', stream: true });
    await expect(early).rejects.toBeInstanceOf(RateLimitError);
  });
});

describe('errors and unsupported fields', () => {
  it('job failures map to the chat face statuses and codes', async () => {
    const cases: Array<[string, number, string]> = [
      ['bad_request', 400, 'invalid_request'],
      ['rate_limited', 429, 'rate_limit_exceeded'],
      ['service_unavailable', 503, 'upstream_unavailable'],
      ['api_key_invalid', 502, 'upstream_api_key_invalid'],
    ];
    for (const [cls, status, code] of cases) {
      const err = (await client.responses.create({ model: 'mock/echo', input: `fail:${cls}` }).catch((e) => e)) as APIError;
      expect(err.status, cls).toBe(status);
      expect(err.code, cls).toBe(code);
      assertOpenAi('ErrorResponse', { error: err.error });
    }
  });

  it('an unknown model is a 404 model_not_found, as on the chat face', async () => {
    for (const model of ['gpt-4o', 'nope/x']) {
      const err = (await client.responses.create({ model, input: 'hi' }).catch((e) => e)) as APIError;
      const chat = (await client.chat.completions
        .create({ model, messages: [{ role: 'user', content: 'hi' }] })
        .catch((e) => e)) as APIError;
      expect(err, model).toBeInstanceOf(NotFoundError);
      expect(err.code).toBe('model_not_found');
      expect(err.param).toBe('model');
      expect(err.message).toBe(chat.message);
    }
  });

  it('answers 400 naming each unsupported field or input item, never a silent drop', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ tools: [{ type: 'function', name: 'f', parameters: {} }] }, 'tools'],
      [{ tools: [{ type: 'web_search' }] }, 'tools'],
      [{ tool_choice: 'required' }, 'tool_choice'],
      [{ reasoning: { effort: 'high' } }, 'reasoning'],
      [{ background: true }, 'background'],
      [{ include: ['message.output_text.logprobs'] }, 'include'],
      [{ text: { format: { type: 'json_object' } } }, 'text'],
      [{ conversation: 'conv_1' }, 'conversation'],
      [{ some_future_field: 1 }, 'some_future_field'],
      [{ input: [{ type: 'function_call_output', call_id: 'c', output: 'x' }] }, 'input[0]'],
      [{ input: [{ type: 'reasoning', summary: [] }] }, 'input[0]'],
      [{ input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'http://x/y.png' }] }] }, 'input[0].content[0]'],
      [{ input: [{ role: 'tool', content: 'x' }] }, 'input[0].role'],
    ];
    const before = worker.started.length;
    for (const [extra, param] of cases) {
      const err = (await client.responses.create({ model: 'mock/echo', input: 'hi', ...extra } as never).catch((e) => e)) as APIError;
      expect(err, param).toBeInstanceOf(BadRequestError);
      expect(err.param, JSON.stringify(extra)).toBe(param);
      expect(err.message).toContain(param);
      assertOpenAi('ErrorResponse', { error: err.error });
    }
    expect(worker.started.length).toBe(before);
  });

  it('GET refuses what asks for more than the stored JSON (a replayed stream, include, starting_after), naming it', async () => {
    const data = await client.responses.create({ model: 'mock/echo', input: 'read me back' });
    const replay = (await client.responses
      .retrieve(data.id, { stream: true })
      .then(async (stream) => {
        for await (const _ of stream) break;
        return stream;
      })
      .catch((e) => e)) as APIError;
    expect(replay).toBeInstanceOf(BadRequestError);
    expect(replay.param).toBe('stream');
    for (const [query, param] of [
      ['include[]=message.output_text.logprobs', 'include'],
      ['include=message.output_text.logprobs', 'include'],
      ['starting_after=3', 'starting_after'],
    ]) {
      expect((await refusedQuery(`/responses/${data.id}`, query as string)).param).toBe(param);
    }
    const plain = await client.responses.retrieve(data.id, { stream: false, include_obfuscation: false });
    expect(plain.output_text).toBe('read me back');
  });

  it('accepts the values that ask for nothing', async () => {
    const data = await client.responses.create({
      model: 'mock/echo',
      input: 'inert settings',
      tools: [],
      tool_choice: 'none',
      include: [],
      background: false,
      text: { format: { type: 'text' } },
      truncation: 'disabled',
      user: 'user-1',
    });
    expect(data.output_text).toBe('inert settings');
    expect(data.tool_choice).toBe('none');
  });
});

describe('privacy', () => {
  it('another client key gets the same 404 as for an id that does not exist, and cannot continue or delete it', async () => {
    const mine = await client.responses.create({ model: 'mock/echo', input: 'private words' });
    const unknownId = `resp_${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`;
    const theirs = (await other.responses.retrieve(mine.id).catch((e) => e)) as APIError;
    const unknown = (await other.responses.retrieve(unknownId).catch((e) => e)) as APIError;
    expect(theirs).toBeInstanceOf(NotFoundError);
    expect(JSON.stringify(theirs.error).replaceAll(mine.id, 'ID')).toBe(JSON.stringify(unknown.error).replaceAll(unknownId, 'ID'));

    const continued = (await other.responses
      .create({ model: 'mock/echo', input: 'x', previous_response_id: mine.id })
      .catch((e) => e)) as APIError;
    const continuedUnknown = (await other.responses
      .create({ model: 'mock/echo', input: 'x', previous_response_id: unknownId })
      .catch((e) => e)) as APIError;
    expect(continued).toBeInstanceOf(BadRequestError);
    expect(JSON.stringify(continued.error).replaceAll(mine.id, 'ID')).toBe(
      JSON.stringify(continuedUnknown.error).replaceAll(unknownId, 'ID'),
    );

    await expect(other.responses.delete(mine.id)).rejects.toBeInstanceOf(NotFoundError);
    expect((await client.responses.retrieve(mine.id)).output_text).toBe('private words');
  });
});

describe('input items (listInputItems) and cancel', () => {
  type Page = Awaited<ReturnType<OpenAI['responses']['inputItems']['list']>>;
  /** The page's body as it came over the wire, validated against the spec's ResponseItemList. */
  const wireBody = (page: Page) => {
    const body = (page as unknown as { body: { first_id: string; last_id: string; has_more: boolean } }).body;
    assertOpenAi('ResponseItemList', body);
    return body;
  };
  const texts = (items: OpenAI.Responses.ResponseItem[]) =>
    items.map((item) => (item.type === 'message' ? item.content.map((part) => ('text' in part ? part.text : '')).join('|') : item.type));

  it('lists the messages a response was given, with ids, as OpenAI returns them; newest first by default', async () => {
    const data = await client.responses.create({
      model: 'mock/echo',
      instructions: 'be brief',
      input: [
        { role: 'system', content: 'system rules' },
        { role: 'developer', content: [{ type: 'input_text', text: 'developer rules' }] },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'an answer', annotations: [] }] } as never,
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'part one\nstill one' },
            { type: 'input_text', text: '' },
            { type: 'input_text', text: 'part three' },
          ],
        },
      ],
    });
    const page = await client.responses.inputItems.list(data.id);
    const body = wireBody(page);
    expect(page.data).toEqual([
      {
        id: expect.stringMatching(/^msg_/),
        type: 'message',
        role: 'user',
        status: 'completed',
        content: [
          { type: 'input_text', text: 'part one\nstill one' },
          { type: 'input_text', text: '' },
          { type: 'input_text', text: 'part three' },
        ],
      },
      {
        id: expect.stringMatching(/^msg_/),
        type: 'message',
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text: 'an answer', annotations: [], logprobs: [] }],
      },
      {
        id: expect.any(String),
        type: 'message',
        role: 'developer',
        status: 'completed',
        content: [{ type: 'input_text', text: 'developer rules' }],
      },
      {
        id: expect.any(String),
        type: 'message',
        role: 'system',
        status: 'completed',
        content: [{ type: 'input_text', text: 'system rules' }],
      },
    ]);
    const ids = page.data.map((item) => (item as { id: string }).id);
    expect(new Set([...ids, data.output[0]?.id]).size).toBe(5); // unique, and none is the answer's
    expect(body).toMatchObject({ object: 'list', first_id: ids[0], last_id: ids[3], has_more: false });
    // Stable: the same ids on every read.
    expect((await client.responses.inputItems.list(data.id, { order: 'asc' })).data.map((item) => (item as { id: string }).id)).toEqual(
      [...ids].reverse(),
    );
  });

  it('pages with limit, after and order; the SDK walks every page', async () => {
    const input = Array.from({ length: 7 }, (_, i) => ({ role: 'user' as const, content: `message ${i}` }));
    const data = await client.responses.create({ model: 'mock/echo', input });
    const all = input.map((m) => m.content);

    const first = await client.responses.inputItems.list(data.id, { limit: 3, order: 'asc' });
    const firstBody = wireBody(first);
    expect(texts(first.data)).toEqual(all.slice(0, 3));
    expect(firstBody.has_more).toBe(true);
    const second = await client.responses.inputItems.list(data.id, { limit: 3, order: 'asc', after: firstBody.last_id });
    expect(texts(second.data)).toEqual(all.slice(3, 6));
    expect(wireBody(second).has_more).toBe(true);
    const third = await second.getNextPage();
    expect(texts(third.data)).toEqual(all.slice(6));
    expect(wireBody(third).has_more).toBe(false);
    expect(third.hasNextPage()).toBe(false);

    const walked: OpenAI.Responses.ResponseItem[] = [];
    for await (const item of client.responses.inputItems.list(data.id, { limit: 2 })) walked.push(item);
    expect(texts(walked)).toEqual([...all].reverse());
    const lastTwo = await client.responses.inputItems.list(data.id, { limit: 2, order: 'desc' });
    expect(texts(lastTwo.data)).toEqual(['message 6', 'message 5']);

    // After the last item: an empty page, still a valid list.
    const empty = await client.responses.inputItems.list(data.id, { order: 'asc', after: wireBody(third).last_id });
    expect(empty.data).toEqual([]);
    expect(wireBody(empty)).toMatchObject({ has_more: false, first_id: '', last_id: '' });
    expect((await client.responses.inputItems.list(data.id, { limit: 100 })).data).toHaveLength(7);
  });

  it('lists only the items given to a continued response; a string input is one user message', async () => {
    const first = await client.responses.create({ model: 'mock/echo', input: 'my name is Ada' });
    const second = await client.responses.create({ model: 'mock/echo', previous_response_id: first.id, input: 'what is my name?' });
    const page = await client.responses.inputItems.list(second.id);
    wireBody(page);
    expect(page.data).toEqual([
      {
        id: expect.any(String),
        type: 'message',
        role: 'user',
        status: 'completed',
        content: [{ type: 'input_text', text: 'what is my name?' }],
      },
    ]);
    expect(texts((await client.responses.inputItems.list(first.id)).data)).toEqual(['my name is Ada']);
  });

  it('an item_reference is listed as the referenced answer under its own id, once', async () => {
    const first = await client.responses.create({ model: 'mock/echo', input: 'the word is amber' });
    const itemId = first.output[0]?.id as string;
    const second = await client.responses.create({
      model: 'mock/echo',
      input: [
        { type: 'item_reference', id: itemId },
        { role: 'user', content: 'which word?' },
        { type: 'item_reference', id: itemId },
      ],
    });
    const page = await client.responses.inputItems.list(second.id, { order: 'asc' });
    wireBody(page);
    expect(page.data[0]).toEqual({
      id: itemId,
      type: 'message',
      role: 'assistant',
      status: 'completed',
      content: [{ type: 'output_text', text: 'the word is amber', annotations: [], logprobs: [] }],
    });
    expect(texts(page.data)).toEqual(['the word is amber', 'which word?', 'the word is amber']);
    const ids = page.data.map((item) => (item as { id: string }).id);
    expect(new Set(ids).size).toBe(3);
    // One item a page: the cursor walks past both references and never loops.
    const walked: string[] = [];
    for await (const item of client.responses.inputItems.list(second.id, { order: 'asc', limit: 1 }))
      walked.push((item as { id: string }).id);
    expect(walked).toEqual(ids);
  });

  it('a record stored before input shapes were kept lists its whole conversation', async () => {
    const first = await client.responses.create({ model: 'mock/echo', input: 'older turn' });
    const data = await client.responses.create({ model: 'mock/echo', previous_response_id: first.id, input: 'newer turn' });
    const key = responseKey(api.namespace, data.id);
    const { input, ...older } = JSON.parse((await api.ctx.redis.get(key)) as string);
    expect(input).toEqual([{}]);
    await api.ctx.redis.set(key, JSON.stringify(older), 'EX', 60);
    const page = await client.responses.inputItems.list(data.id, { order: 'asc' });
    wireBody(page);
    expect(page.data.map((item) => (item as { role: string }).role)).toEqual(['user', 'assistant', 'user']);
    expect(texts(page.data)).toEqual(['older turn', 'older turn', 'newer turn']);
  });

  it('refuses include, a bad limit or order and an unknown after with a 400 naming it', async () => {
    const data = await client.responses.create({ model: 'mock/echo', input: 'query checks' });
    const viaSdk = (await client.responses.inputItems
      .list(data.id, { include: ['message.output_text.logprobs'] })
      .catch((e) => e)) as APIError;
    expect(viaSdk).toBeInstanceOf(BadRequestError);
    expect(viaSdk.param).toBe('include');
    for (const [query, param] of [
      ['include[]=message.output_text.logprobs', 'include'],
      ['include=message.input_image.image_url', 'include'],
      ['limit=0', 'querystring.limit'],
      ['limit=101', 'querystring.limit'],
      ['limit=two', 'querystring.limit'],
      ['order=sideways', 'querystring.order'],
      [`after=msg_nope`, 'after'],
      [`after=${data.output[0]?.id}`, 'after'], // the answer is no input item
    ]) {
      const error = await refusedQuery(`/responses/${data.id}/input_items`, query as string);
      expect(error.param, query).toBe(param);
      expect(error.type).toBe('invalid_request_error');
    }
    // Values that ask for nothing are accepted.
    const res = await fetch(`${baseURL}/responses/${data.id}/input_items?include=&limit=1`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(res.status).toBe(200);
  });

  it("another key's response, an unknown id and one not stored are the same 404 as GET", async () => {
    const mine = await client.responses.create({ model: 'mock/echo', input: 'private input' });
    const unstored = await client.responses.create({ model: 'mock/echo', input: 'not kept', store: false });
    const unknownId = `resp_${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`;
    const theirs = (await other.responses.inputItems.list(mine.id).catch((e) => e)) as APIError;
    const unknown = (await other.responses.inputItems.list(unknownId).catch((e) => e)) as APIError;
    const retrieved = (await other.responses.retrieve(mine.id).catch((e) => e)) as APIError;
    expect(theirs).toBeInstanceOf(NotFoundError);
    assertOpenAi('ErrorResponse', { error: theirs.error });
    expect(JSON.stringify(theirs.error).replaceAll(mine.id, 'ID')).toBe(JSON.stringify(unknown.error).replaceAll(unknownId, 'ID'));
    expect(theirs.error).toEqual(retrieved.error);
    await expect(client.responses.inputItems.list(unstored.id)).rejects.toBeInstanceOf(NotFoundError);
    expect(texts((await client.responses.inputItems.list(mine.id)).data)).toEqual(['private input']);
  });

  it('cancel answers 400 for a stored response (none runs in the background) and the GET 404 for anyone else', async () => {
    const mine = await client.responses.create({ model: 'mock/echo', input: 'too late to cancel' });
    const refused = (await client.responses.cancel(mine.id).catch((e) => e)) as APIError;
    expect(refused).toBeInstanceOf(BadRequestError);
    assertOpenAi('ErrorResponse', { error: refused.error });
    expect((refused.error as { type: string }).type).toBe('invalid_request_error');
    expect(refused.message).toContain('Cannot cancel a synchronous response');
    expect(refused.message).toContain('background');
    expect((await client.responses.retrieve(mine.id)).status).toBe('completed'); // unchanged

    const unknownId = `resp_${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`;
    const theirs = (await other.responses.cancel(mine.id).catch((e) => e)) as APIError;
    const unknown = (await other.responses.cancel(unknownId).catch((e) => e)) as APIError;
    const retrieved = (await other.responses.retrieve(mine.id).catch((e) => e)) as APIError;
    expect(theirs).toBeInstanceOf(NotFoundError);
    expect(JSON.stringify(theirs.error).replaceAll(mine.id, 'ID')).toBe(JSON.stringify(unknown.error).replaceAll(unknownId, 'ID'));
    expect(theirs.error).toEqual(retrieved.error);
  });
});
