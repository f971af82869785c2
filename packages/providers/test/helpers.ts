/**
 * Shared test fixtures: real-looking keys, one factory per adapter pointed at a mock server, small
 * helpers to catch a ProviderError, and a scripted server for exact wire shapes.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@switchyard/shared';
import { afterAll } from 'vitest';
import { createAnthropicAdapter } from '../src/anthropic/index.ts';
import { createAzureOpenAIAdapter } from '../src/azure-openai/index.ts';
import { createGeminiAdapter } from '../src/gemini/index.ts';
import { createMockAdapter } from '../src/mock/index.ts';
import { type MockServer, mockBaseUrls } from '../src/mock-server/index.ts';
import { createOllamaAdapter } from '../src/ollama/index.ts';
import { createOpenAIAdapter } from '../src/openai/index.ts';
import { createOpenAICompatibleServerAdapter } from '../src/openai-compatible/index.ts';
import { createOpenRouterAdapter } from '../src/openrouter/index.ts';
import { ProviderError } from '../src/provider-error.ts';
import type { CallOptions, ChatRequest, ProviderAdapter } from '../src/types.ts';

/** Keys shaped like the vendors' real ones (random enough that a leak is unambiguous). */
export const KEYS = {
  openai: 'sk-proj-Q7vR2mXk9LwT4nB8cJ1hF6dS3aZ0yP5eU9iO2kL7mN4bV8cX1zA6sD3fG0hJ5kW2',
  openrouter: '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',
  anthropic: 'sk-ant-api03-Xy7Qw2Er5Ty8Ui1Op4As7Df0Gh3Jk6Lz9Xc2Vb5Nm8Qw1Er4Ty7Ui0Op3As6Df9Gh2Jk5L-AbCdEfGhAA',
  gemini: 'AIzaSyD3k9Lm2Np5Qr8St1Uv4Wx7Yz0Ab3Cd6Ef',
  /** A classic Azure resource key: 32 hex characters. */
  'azure-openai': '7c1e9a4f3b2d48e6a05f9c8d7b6e1a23',
  'openai-compatible': 'vllm-tok-4b8e2f9a7c1d6e3b5a0f8c2d9e7b1a64',
} as const;

export type AdapterName = 'openai' | 'openrouter' | 'anthropic' | 'gemini' | 'ollama' | 'mock' | 'azure-openai' | 'openai-compatible';

export const ADAPTER_NAMES: AdapterName[] = [
  'openai',
  'openrouter',
  'anthropic',
  'gemini',
  'ollama',
  'mock',
  'azure-openai',
  'openai-compatible',
];

export const MODEL_FOR: Record<AdapterName, string> = {
  openai: 'gpt-4o-mini',
  openrouter: 'meta-llama/llama-3.1-8b-instruct',
  anthropic: 'claude-sonnet-5-5',
  gemini: 'gemini-2.5-flash',
  ollama: 'llama3.2',
  // Any mock model other than echo goes over HTTP to the mock server.
  mock: 'http',
  // Azure's route target model is the deployment name.
  'azure-openai': 'gpt-4o-mini-prod',
  'openai-compatible': 'meta-llama/Llama-3.1-8B-Instruct',
};

export function makeAdapter(name: AdapterName, baseUrls: MockServer['baseUrls'], logger?: Logger): ProviderAdapter {
  const common = { defaultTimeoutMs: 5_000, logger };
  switch (name) {
    case 'openai':
      return createOpenAIAdapter({ apiKey: KEYS.openai, baseUrl: baseUrls.openai, ...common });
    case 'openrouter':
      return createOpenRouterAdapter({ apiKey: KEYS.openrouter, baseUrl: baseUrls.openrouter, ...common });
    case 'anthropic':
      return createAnthropicAdapter({ apiKey: KEYS.anthropic, baseUrl: baseUrls.anthropic, ...common });
    case 'gemini':
      return createGeminiAdapter({ apiKey: KEYS.gemini, baseUrl: baseUrls.gemini, ...common });
    case 'ollama':
      return createOllamaAdapter({ baseUrl: baseUrls.ollama, ...common });
    case 'mock':
      return createMockAdapter({ url: baseUrls.mock, ...common });
    case 'azure-openai':
      return createAzureOpenAIAdapter({ apiKey: KEYS['azure-openai'], baseUrl: baseUrls['azure-openai'], ...common });
    case 'openai-compatible':
      return createOpenAICompatibleServerAdapter({ apiKey: KEYS['openai-compatible'], baseUrl: baseUrls['openai-compatible'], ...common });
  }
}

/** Base URLs of every adapter pointed at `url` (for refused-connection and TLS cases). */
export function baseUrlsAt(url: string): MockServer['baseUrls'] {
  return mockBaseUrls(url);
}

export function userRequest(model: string, text: string): ChatRequest {
  return { model, messages: [{ role: 'user', content: text }] };
}

/** Runs the call and returns the ProviderError it rejects with; fails the test if it resolves or rejects otherwise. */
export async function expectFailure(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ProviderError) return err;
    throw new Error(`rejected with a non-ProviderError: ${String(err)}`);
  }
  throw new Error('expected the call to fail, it succeeded');
}

export function callOptions(stream: boolean, extra: Partial<CallOptions> = {}): CallOptions {
  return { signal: new AbortController().signal, ...(stream ? { onToken: () => {} } : {}), ...extra };
}

/**
 * Polls until `check` is truthy; returns the elapsed milliseconds or throws naming `what`. The
 * default deadline is for a loaded machine: these waits are for something that happens or never
 * does (a request arriving, a close seen); how promptly is asserted where it matters, in turns.
 */
export async function pollUntil(check: () => boolean, what: string, timeoutMs = 5_000, everyMs = 2): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (check()) return performance.now() - started;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  // One last look: a stall spanning the deadline must not fail a wait whose condition came true.
  if (check()) return performance.now() - started;
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export interface ScriptedServer {
  url: string;
  /** Requests seen, oldest first: method, path with query, headers. */
  seen: Array<{ method: string; url: string; headers: IncomingHttpHeaders }>;
  close(): Promise<void>;
}

/**
 * A bare node:http server answering every request with `answer`: for wire shapes the mock server
 * does not produce (a vendor's exact recorded stream, a 200 that is not a completion).
 */
export type ScriptedAnswer = (req: IncomingMessage, res: ServerResponse) => void;

export async function startScriptedServer(answer: ScriptedAnswer): Promise<ScriptedServer> {
  const seen: ScriptedServer['seen'] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers } });
    req.resume();
    req.on('end', () => answer(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * For a describe block: `start(answer)` replaces the block's scripted server with one answering
 * `answer` and returns `build(url)` (an adapter pointed at it) with the server; closed after the block.
 */
export function useScriptedServer<T>(
  build: (url: string) => T,
): (answer: ScriptedAnswer) => Promise<{ adapter: T; seen: ScriptedServer['seen'] }> {
  let current: ScriptedServer | undefined;
  afterAll(async () => {
    await current?.close();
  });
  return async (answer) => {
    await current?.close();
    current = await startScriptedServer(answer);
    return { adapter: build(current.url), seen: current.seen };
  };
}

/** Answers with these SSE data payloads (objects as JSON), then ends. */
export function sseAnswer(events: unknown[]): ScriptedAnswer {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end(events.map((e) => `data: ${typeof e === 'string' ? e : JSON.stringify(e)}\n\n`).join(''));
  };
}

/** Answers with this status and body (an object as JSON). */
export function bodyAnswer(
  status: number,
  body: unknown,
  contentType = 'application/json',
): (req: IncomingMessage, res: ServerResponse) => void {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': contentType });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
}
