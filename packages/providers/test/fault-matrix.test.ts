/**
 * Every adapter x every fault -> the class the contract expects, over real HTTP against the mock
 * server, streaming and not. Rows are faults (as the x-mock-fault header carries them), columns the
 * adapters; an override names the vendors whose real wire behaviour differs from the default.
 */
import { createServer } from 'node:net';
import type { ErrorClass } from '@switchyard/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockServer, startMockServer } from '../src/mock-server/index.ts';
import { ADAPTER_NAMES, type AdapterName, baseUrlsAt, callOptions, expectFailure, MODEL_FOR, makeAdapter, userRequest } from './helpers.ts';

interface FaultRow {
  fault: string;
  expected: ErrorClass;
  /** Vendors whose real wire format leads to another class for this fault. */
  overrides?: Partial<Record<AdapterName, ErrorClass>>;
  timeoutMs?: number;
  retryAfterMs?: number;
}

const FAULTS: FaultRow[] = [
  { fault: 'status=400', expected: 'bad_request' },
  { fault: 'status=401', expected: 'api_key_invalid' },
  { fault: 'status=402', expected: 'credits_exhausted' },
  { fault: 'status=403', expected: 'forbidden' },
  { fault: 'status=404', expected: 'model_not_found' },
  // Anthropic and Gemini bodies for a request timeout are gateway timeouts (timeout_error / DEADLINE_EXCEEDED): 504 class.
  { fault: 'status=408', expected: 'timeout', overrides: { anthropic: 'service_unavailable', gemini: 'service_unavailable' } },
  { fault: 'status=413', expected: 'context_length_exceeded' },
  { fault: 'status=422', expected: 'bad_request' },
  { fault: 'status=429;retry-after=3', expected: 'rate_limited', retryAfterMs: 3000 },
  { fault: 'status=429;retry-after-ms=250', expected: 'rate_limited', retryAfterMs: 250 },
  { fault: 'status=500', expected: 'service_unavailable' },
  { fault: 'status=502', expected: 'service_unavailable' },
  { fault: 'status=503;retry-after=1', expected: 'service_unavailable', retryAfterMs: 1000 },
  { fault: 'status=504', expected: 'service_unavailable' },
  { fault: 'status=529', expected: 'service_unavailable' },
  { fault: 'error=context_length', expected: 'context_length_exceeded' },
  // Ollama has no content policy: it can only say 400.
  { fault: 'error=content_policy', expected: 'content_policy', overrides: { ollama: 'bad_request' } },
  { fault: 'error=credits', expected: 'credits_exhausted' },
  { fault: 'error=rate_limit', expected: 'rate_limited' },
  { fault: 'error=auth', expected: 'api_key_invalid' },
  { fault: 'error=model_not_found', expected: 'model_not_found' },
  { fault: 'error=overloaded', expected: 'service_unavailable' },
  { fault: 'hang', expected: 'timeout', timeoutMs: 150 },
  { fault: 'reset', expected: 'network_error' },
  { fault: 'latency=50;reset', expected: 'network_error' },
  { fault: 'malformed', expected: 'invalid_response' },
  // Azure's in-band failure is its output filter withholding the answer (finish_reason content_filter).
  { fault: 'inband', expected: 'service_unavailable', overrides: { 'azure-openai': 'content_policy' } },
  { fault: 'cut=2', expected: 'network_error' },
  { fault: 'eof=2', expected: 'invalid_response' },
  { fault: 'hang-after=1', expected: 'timeout', timeoutMs: 150 },
];

const CASES = ADAPTER_NAMES.flatMap((adapter) =>
  FAULTS.flatMap((row) =>
    [false, true].map((stream) => ({
      adapter,
      stream,
      fault: row.fault,
      expected: row.overrides?.[adapter] ?? row.expected,
      timeoutMs: row.timeoutMs ?? 5_000,
      retryAfterMs: row.retryAfterMs,
    })),
  ),
);

let server: MockServer;
beforeAll(async () => {
  server = await startMockServer();
});
afterAll(async () => {
  await server.close();
});

describe('fault matrix: adapter x fault -> class', () => {
  it.concurrent.each(CASES)(
    '$adapter stream=$stream [$fault] -> $expected',
    async ({ adapter, stream, fault, expected, timeoutMs, retryAfterMs }) => {
      const provider = makeAdapter(adapter, server.baseUrls);
      const err = await expectFailure(
        provider.chat(userRequest(MODEL_FOR[adapter], `hello [[mock:${fault}]]`), callOptions(stream, { timeoutMs })),
      );
      expect(err.errorClass).toBe(expected);
      expect(err.provider).toBe(adapter);
      if (retryAfterMs !== undefined) expect(err.retryAfterMs).toBe(retryAfterMs);
    },
  );

  it.each(ADAPTER_NAMES)('%s: a healthy call under latency succeeds and echoes, streaming and not', async (adapter) => {
    const provider = makeAdapter(adapter, server.baseUrls);
    const plain = await provider.chat(userRequest(MODEL_FOR[adapter], 'echo me please [[mock:latency=20]]'), callOptions(false));
    expect(plain.content).toBe('echo me please');
    const tokens: string[] = [];
    const streamed = await provider.chat(
      userRequest(MODEL_FOR[adapter], 'echo me please'),
      callOptions(true, { onToken: (t) => tokens.push(t) }),
    );
    expect(streamed.content).toBe('echo me please');
    expect(tokens).toEqual(['echo ', 'me ', 'please']);
    expect(streamed.finishReason).toBe('stop');
  });
});

describe('fault matrix: the same fault from the header and from a configured rule', () => {
  it.each(ADAPTER_NAMES)('%s: x-mock-fault rule by provider and count', async (adapter) => {
    const provider = makeAdapter(adapter, server.baseUrls);
    const name = adapter === 'mock' ? 'mock' : adapter;
    server.addFaults([{ provider: name, model: MODEL_FOR[adapter], endpoint: 'chat', fault: 'status=503', count: 1 }]);
    const err = await expectFailure(provider.chat(userRequest(MODEL_FOR[adapter], 'rule'), callOptions(false)));
    expect(err.errorClass).toBe('service_unavailable');
    // The rule was spent: the next call succeeds.
    await expect(provider.chat(userRequest(MODEL_FOR[adapter], 'rule'), callOptions(false))).resolves.toMatchObject({ content: 'rule' });
  });
});

describe('fault matrix: transport failures', () => {
  let refusedUrl: string;
  let plainHttpAsTls: string;
  beforeAll(async () => {
    // A port that was free a moment ago: nothing listens, so connecting is refused.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    refusedUrl = `http://127.0.0.1:${port}`;
    // TLS spoken to a plain HTTP server: the handshake fails (a real TLS error, on 127.0.0.1 only).
    plainHttpAsTls = server.url.replace('http://', 'https://');
  });

  const TRANSPORT = ADAPTER_NAMES.flatMap((adapter) =>
    (['refused', 'tls'] as const).flatMap((kind) => [false, true].map((stream) => ({ adapter, kind, stream }))),
  );

  it.each(TRANSPORT)('$adapter stream=$stream [$kind] -> network_error', async ({ adapter, kind, stream }) => {
    const provider = makeAdapter(adapter, baseUrlsAt(kind === 'refused' ? refusedUrl : plainHttpAsTls));
    const err = await expectFailure(provider.chat(userRequest(MODEL_FOR[adapter], 'hi'), callOptions(stream)));
    expect(err.errorClass).toBe('network_error');
  });
});
