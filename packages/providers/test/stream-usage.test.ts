/**
 * Token usage from every adapter, streamed calls included, against the mock server's wire format
 * of each vendor (the mock streams usage where the vendor does: OpenAI-style kinds when asked with
 * stream_options.include_usage, Anthropic in message_start / message_delta, Gemini in each chunk's
 * usageMetadata, Ollama in its final line). A streamed job must count the same tokens as the same
 * job answered in one piece, and OpenRouter's reported cost must come through.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockServer, openrouterMockCost, startMockServer } from '../src/mock-server/index.ts';
import { ADAPTER_NAMES, callOptions, MODEL_FOR, makeAdapter, userRequest } from './helpers.ts';

let server: MockServer;
beforeAll(async () => {
  server = await startMockServer();
});
afterAll(async () => {
  await server.close();
});

const PROMPT = 'count these five words';

describe.each(ADAPTER_NAMES)('%s', (name) => {
  it('reports the same, non-zero usage streamed as in one piece', async () => {
    const adapter = makeAdapter(name, server.baseUrls);
    const request = userRequest(MODEL_FOR[name], PROMPT);
    // The mock's OpenAI-compatible server answers in one piece without usage, as lean servers may
    // (openai-compatible.test.ts); its stream, asked with include_usage, counts as OpenAI does.
    const whole =
      name === 'openai-compatible'
        ? await makeAdapter('openai', server.baseUrls).chat(userRequest(MODEL_FOR.openai, PROMPT), callOptions(false))
        : await adapter.chat(request, callOptions(false));
    const tokens: string[] = [];
    const streamed = await adapter.chat(request, callOptions(true, { onToken: (t) => tokens.push(t) }));
    expect(tokens.join('')).toBe(streamed.content);
    expect(whole.usage.promptTokens).toBeGreaterThan(0);
    expect(whole.usage.completionTokens).toBeGreaterThan(0);
    expect({ ...streamed.usage, costUsd: undefined }).toEqual({ ...whole.usage, costUsd: undefined });
    expect(streamed.usage.totalTokens).toBe(streamed.usage.promptTokens + streamed.usage.completionTokens);
  });
});

describe('vendor-reported cost', () => {
  it('OpenRouter: usage.cost is carried as costUsd, streamed and not', async () => {
    const adapter = makeAdapter('openrouter', server.baseUrls);
    const request = userRequest(MODEL_FOR.openrouter, PROMPT);
    for (const stream of [false, true]) {
      const { usage } = await adapter.chat(request, callOptions(stream));
      expect(usage.costUsd).toBeGreaterThan(0);
      expect(usage.costUsd).toBeCloseTo(openrouterMockCost(usage.promptTokens, usage.completionTokens), 12);
    }
  });

  it('other kinds report no cost of their own', async () => {
    for (const name of ['openai', 'anthropic', 'gemini', 'ollama'] as const) {
      const { usage } = await makeAdapter(name, server.baseUrls).chat(userRequest(MODEL_FOR[name], PROMPT), callOptions(true));
      expect(usage.costUsd, name).toBeUndefined();
    }
  });
});
