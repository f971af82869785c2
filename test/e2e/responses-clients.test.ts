/**
 * The Responses face end to end with a client no one here wrote: the AI SDK's default OpenAI
 * provider (`openai('model')` speaks the Responses API), generateText and streamText, against the
 * real API and worker processes and the mock provider; and an upstream cut mid-stream (the mock's
 * `cut=` fault: tokens, then the connection dies), which must end the stream with response.failed,
 * every event valid against OpenAI's spec.
 */
import { createOpenAI } from '@ai-sdk/openai';
import { type MockServer, startMockServer } from '@switchyard/providers/mock-server';
import { deleteNamespace, testNamespace, testRedisUrl } from '@switchyard/shared/testing';
import { generateText, type ModelMessage, streamText } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertOpenAi } from '../../apps/api/test/support/openai-spec.ts';
import { type Fleet, startFleet } from '../support/processes.ts';

const KEY = 'responses-e2e-key-01';
const namespace = testNamespace('resp');
let fleet: Fleet;
let mock: MockServer;
let openai: ReturnType<typeof createOpenAI>;

beforeAll(async () => {
  // `mock/echo` runs inside the worker; other `mock/*` models go to this server over HTTP.
  mock = await startMockServer();
  fleet = await startFleet({
    namespace,
    workers: 1,
    env: { API_KEYS: KEY, MOCK_PROVIDER: 'true', MOCK_PROVIDER_URL: mock.baseUrls.mock, RATE_LIMIT_RPM: '0' },
  });
  openai = createOpenAI({ baseURL: `${fleet.apiUrl}/v1`, apiKey: KEY });
});
afterAll(async () => {
  await fleet?.stop();
  await mock?.close();
  await deleteNamespace(testRedisUrl(), namespace);
});

const ORDER_HEAD = ['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added'];

/** The events of a streamed response, read off the wire: `event:` names and their JSON data. */
async function streamEvents(body: Record<string, unknown>): Promise<Array<{ event: string; data: Record<string, unknown> }>> {
  const res = await fetch(`${fleet.apiUrl}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true }),
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((block) => block.includes('data: '))
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? '';
      const data = block
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => line.slice(6))
        .join('\n');
      return { event, data: JSON.parse(data) as Record<string, unknown> };
    });
}

describe("the AI SDK's default OpenAI provider (Responses API)", () => {
  it('generateText answers through the queue, with usage and the response id', async () => {
    const result = await generateText({ model: openai('mock/echo'), system: 'be brief', prompt: 'hello from the ai sdk' });
    expect(result.text).toBe('hello from the ai sdk');
    expect(result.finishReason).toBe('stop');
    expect(result.usage.outputTokens).toBeGreaterThan(0);
    expect(result.usage.totalTokens).toBe((result.usage.inputTokens ?? 0) + (result.usage.outputTokens ?? 0));
    expect(result.response.id).toMatch(/^resp_/);
    expect(result.response.modelId).toBe('mock/echo');
  });

  it('generateText continues a stored conversation with previousResponseId', async () => {
    const first = await generateText({ model: openai('mock/echo'), prompt: 'remember the word teal' });
    const second = await generateText({
      model: openai('mock/echo'),
      prompt: 'which word?',
      providerOptions: { openai: { previousResponseId: first.response.id } },
    });
    expect(second.text).toBe('which word?');
    const stored = await fetch(`${fleet.apiUrl}/v1/responses/${second.response.id}`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(((await stored.json()) as { previous_response_id: string }).previous_response_id).toBe(first.response.id);
    await expect(
      generateText({ model: openai('mock/echo'), prompt: 'x', providerOptions: { openai: { previousResponseId: 'resp_unknown' } } }),
    ).rejects.toThrow(/No stored response/);
  });

  it('a chat loop that keeps the conversation as messages: earlier answers go back as item references', async () => {
    // The provider stores by default, so it sends an earlier answer back as
    // {type: 'item_reference', id: <its message item id>} rather than as text.
    const history: ModelMessage[] = [{ role: 'user', content: 'remember the word amber' }];
    const first = await generateText({ model: openai('mock/echo'), messages: history });
    history.push(...first.response.messages, { role: 'user', content: 'which word was it?' });
    const second = await generateText({ model: openai('mock/echo'), messages: history });
    expect(second.text).toBe('which word was it?');
    history.push(...second.response.messages, { role: 'user', content: 'and once more, streamed' });
    const third = streamText({ model: openai('mock/echo'), messages: history });
    expect(await third.text).toBe('and once more, streamed');
  });

  it('streamText streams the answer token by token', async () => {
    const text = 'one two three four five six seven eight nine ten';
    const result = streamText({ model: openai('mock/echo'), prompt: text });
    const parts: string[] = [];
    for await (const part of result.textStream) parts.push(part);
    expect(parts.join('')).toBe(text);
    expect(parts.length).toBeGreaterThan(3);
    expect(await result.finishReason).toBe('stop');
    expect((await result.usage).outputTokens).toBeGreaterThan(0);
  });

  it('streamText reports a stream cut after its first tokens as an error, not a short answer', async () => {
    const errors: unknown[] = [];
    const result = streamText({
      model: openai('mock/echo'),
      prompt: 'alpha beta gamma delta epsilon zeta eta theta [[mock:cut=3]]',
      onError: ({ error }) => {
        errors.push(error);
      },
    });
    const kinds: string[] = [];
    let text = '';
    for await (const part of result.fullStream) {
      kinds.push(part.type);
      if (part.type === 'text-delta') text += part.text;
    }
    expect(kinds).toContain('error');
    expect(errors.length).toBeGreaterThan(0);
    expect(text.length).toBeGreaterThan(0);
    expect(text).not.toBe('alpha beta gamma delta epsilon zeta eta theta');
  });
});

describe('an upstream cut mid-stream, on the wire', () => {
  it('ends with response.failed after the tokens already sent, every event valid, none completed', async () => {
    const events = await streamEvents({ model: 'mock/echo', input: 'one two three four five six seven eight [[mock:cut=3]]' });
    for (const { event, data } of events) {
      assertOpenAi('ResponseStreamEvent', data);
      expect(event).toBe(data.type);
    }
    const types = events.map((e) => e.data.type);
    expect(types.slice(0, 4)).toEqual(ORDER_HEAD);
    expect(types.filter((t) => t === 'response.output_text.delta').length).toBeGreaterThan(0);
    expect(types.at(-1)).toBe('response.failed');
    expect(types).not.toContain('response.completed');
    expect(events.map((e) => e.data.sequence_number)).toEqual(events.map((_, i) => i));
    const failed = events.at(-1)?.data.response as { status: string; error: { code: string; message: string }; id: string };
    expect(failed.status).toBe('failed');
    expect(failed.error.code).toBe('server_error');
    expect(failed.error.message.length).toBeGreaterThan(0);
  });
});

describe('a provider failure before the first token', () => {
  it('is retried out of sight: the client gets one clean stream ending in response.completed', async () => {
    mock.setFaults([{ provider: 'mock', model: 'resp-flaky', fault: 'status=503', count: 1 }]);
    const text = 'retried before its first token reached anyone';
    const events = await streamEvents({ model: 'mock/resp-flaky', input: text });
    for (const { data } of events) assertOpenAi('ResponseStreamEvent', data);
    const types = events.map((e) => e.data.type);
    expect(types.slice(0, 4)).toEqual(ORDER_HEAD);
    expect(types.at(-1)).toBe('response.completed');
    expect(types).not.toContain('response.failed');
    expect(events.flatMap((e) => (e.data.type === 'response.output_text.delta' ? [e.data.delta] : [])).join('')).toBe(text);
    const calls = mock.stats().byModel['mock/resp-flaky'];
    expect(calls?.faulted).toBe(1);
    expect(calls?.received).toBeGreaterThanOrEqual(2);
  });
});
