/**
 * The built-in `mock` provider. `mock/echo` answers in-process (see echo.ts). Any other `mock/<name>`
 * goes over HTTP in OpenAI format to the mock server at MOCK_PROVIDER_URL (path /mock/v1), so the
 * whole network path can be exercised; without a URL those models do not exist.
 */
import type { Logger } from '@switchyard/shared';
import { createOpenAICompatibleAdapter } from '../openai/compat.ts';
import { classifyOpenAIError } from '../openai/errors.ts';
import { OPENAI_DIALECT } from '../openai/request.ts';
import { ProviderError } from '../provider-error.ts';
import { checkRequest } from '../transport/adapter.ts';
import type { FetchLike } from '../transport/fast-fetch.ts';
import { joinUrl } from '../transport/http.ts';
import type { CallOptions, ChatRequest, ChatResult, ProbeResult, ProviderAdapter } from '../types.ts';
import { echoChat } from './echo.ts';

export interface MockAdapterOptions {
  /** The mock server's root URL (or an OpenAI-format base URL with a path). Unset: only mock/echo exists. */
  url?: string | undefined;
  defaultTimeoutMs?: number;
  logger?: Logger | undefined;
  /** The HTTP transport; default fastFetch (transport/fast-fetch.ts). */
  fetch?: FetchLike | undefined;
}

/** `http://host:port` -> `http://host:port/mock/v1`; a URL that already has a path is used as given. */
export function mockHttpBaseUrl(url: string): string {
  const parsed = new URL(url);
  return parsed.pathname === '/' || parsed.pathname === '' ? joinUrl(url, '/mock/v1') : url.replace(/\/+$/, '');
}

export function createMockAdapter(options: MockAdapterOptions = {}): ProviderAdapter {
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 20_000;
  const http = options.url
    ? createOpenAICompatibleAdapter({
        provider: 'mock',
        dialect: OPENAI_DIALECT,
        apiKey: 'mock-key',
        baseURL: mockHttpBaseUrl(options.url),
        models: ['http'],
        classify: classifyOpenAIError,
        defaultTimeoutMs,
        logger: options.logger,
        fetch: options.fetch,
      })
    : undefined;

  return {
    provider: 'mock',
    models: http ? ['echo', 'http'] : ['echo'],
    chat(request: ChatRequest, callOptions: CallOptions): Promise<ChatResult> {
      const invalid = checkRequest('mock', request);
      if (invalid) return Promise.reject(invalid);
      if (request.model === 'echo') return echoChat(request, callOptions, defaultTimeoutMs);
      if (http) return http.chat(request, callOptions);
      return Promise.reject(
        new ProviderError({
          errorClass: 'model_not_found',
          provider: 'mock',
          message: `mock: model "${request.model}" needs the mock server (set MOCK_PROVIDER_URL); only mock/echo runs in-process`,
        }),
      );
    },
    probe(probeOptions: { signal?: AbortSignal; timeoutMs: number }): Promise<ProbeResult> {
      if (http) return http.probe(probeOptions);
      return Promise.resolve({ state: 'active', latencyMs: 0 });
    },
  };
}

export { ECHO_KIND_CLASS, echoChat } from './echo.ts';
