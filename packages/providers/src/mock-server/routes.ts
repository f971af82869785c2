/**
 * Owns the mock server's URL space: which path prefix speaks which vendor's wire format, so each
 * adapter can be pointed at the mock with nothing but its base URL:
 *   OPENAI_BASE_URL=<url>/openai/v1          POST /chat/completions, GET /models
 *   OPENROUTER_BASE_URL=<url>/openrouter/api/v1   POST /chat/completions, GET /models, /key, /credits
 *   ANTHROPIC_BASE_URL=<url>/anthropic        POST /v1/messages, GET /v1/models
 *   GEMINI_BASE_URL=<url>/gemini              POST /v1beta/models/{m}:generateContent|:streamGenerateContent, GET /v1beta/models
 *   OLLAMA_BASE_URL=<url>/ollama              POST /api/chat, GET /api/tags
 *   azure-openai base_url <url>/azure         POST /openai/deployments/{d}/chat/completions?api-version=, GET /openai/models
 *   openai-compatible base_url <url>/compatible/v1   POST /chat/completions, GET /models
 *   MOCK_PROVIDER_URL=<url>                   the mock provider's HTTP models: <url>/mock/v1 (OpenAI format)
 */
import type { Endpoint } from './faults.ts';
import { anthropicWire } from './wire/anthropic.ts';
import { azureOpenAIWire } from './wire/azure-openai.ts';
import { geminiWire } from './wire/gemini.ts';
import { ollamaWire } from './wire/ollama.ts';
import { openaiWire } from './wire/openai.ts';
import { openaiCompatibleWire } from './wire/openai-compatible.ts';
import type { WireFormat } from './wire/types.ts';

export type MockProvider = 'openai' | 'openrouter' | 'anthropic' | 'gemini' | 'ollama' | 'mock' | 'azure-openai' | 'openai-compatible';

export interface Route {
  provider: MockProvider;
  endpoint: Endpoint;
  wire: WireFormat;
  /** Gemini, Azure: the model (Azure: the deployment) named in the path. */
  model?: string;
  /** Gemini: streamGenerateContent. */
  stream?: boolean;
}

const WIRES: Record<MockProvider, WireFormat> = {
  openai: openaiWire('openai'),
  openrouter: openaiWire('openrouter'),
  mock: openaiWire('mock'),
  anthropic: anthropicWire(),
  gemini: geminiWire(),
  ollama: ollamaWire(),
  'azure-openai': azureOpenAIWire(),
  'openai-compatible': openaiCompatibleWire(),
};

type Matcher = (method: string, path: string) => Omit<Route, 'wire'> | undefined;

const exact =
  (method: string, path: string, provider: MockProvider, endpoint: Endpoint): Matcher =>
  (m, p) =>
    m === method && p === path ? { provider, endpoint } : undefined;

const GEMINI_CHAT = /^\/gemini\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent)$/;
const AZURE_CHAT = /^\/azure\/openai\/deployments\/([^/]+)\/chat\/completions$/;

/** A path segment decoded; a malformed escape is kept as sent rather than failing the request. */
function segment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

const MATCHERS: Matcher[] = [
  exact('POST', '/openai/v1/chat/completions', 'openai', 'chat'),
  exact('GET', '/openai/v1/models', 'openai', 'models'),
  exact('POST', '/mock/v1/chat/completions', 'mock', 'chat'),
  exact('GET', '/mock/v1/models', 'mock', 'models'),
  exact('POST', '/openrouter/api/v1/chat/completions', 'openrouter', 'chat'),
  exact('GET', '/openrouter/api/v1/models', 'openrouter', 'models'),
  exact('GET', '/openrouter/api/v1/key', 'openrouter', 'key'),
  exact('GET', '/openrouter/api/v1/auth/key', 'openrouter', 'key'),
  exact('GET', '/openrouter/api/v1/credits', 'openrouter', 'credits'),
  exact('POST', '/anthropic/v1/messages', 'anthropic', 'chat'),
  exact('GET', '/anthropic/v1/models', 'anthropic', 'models'),
  (m, p) => {
    const match = m === 'POST' ? GEMINI_CHAT.exec(p) : null;
    if (!match) return undefined;
    return { provider: 'gemini', endpoint: 'chat', model: segment(match[1]!), stream: match[2] === 'streamGenerateContent' };
  },
  exact('GET', '/gemini/v1beta/models', 'gemini', 'models'),
  exact('POST', '/ollama/api/chat', 'ollama', 'chat'),
  exact('GET', '/ollama/api/tags', 'ollama', 'models'),
  (m, p) => {
    const match = m === 'POST' ? AZURE_CHAT.exec(p) : null;
    return match ? { provider: 'azure-openai', endpoint: 'chat', model: segment(match[1]!) } : undefined;
  },
  exact('GET', '/azure/openai/models', 'azure-openai', 'models'),
  exact('POST', '/compatible/v1/chat/completions', 'openai-compatible', 'chat'),
  exact('GET', '/compatible/v1/models', 'openai-compatible', 'models'),
];

export function route(method: string, pathname: string): Route | undefined {
  for (const matcher of MATCHERS) {
    const found = matcher(method, pathname);
    if (found) return { ...found, wire: WIRES[found.provider] };
  }
  return undefined;
}

/** Base URLs for pointing each adapter (or the environment) at a mock server at `url`. */
export function mockBaseUrls(url: string): Record<MockProvider, string> {
  return {
    openai: `${url}/openai/v1`,
    openrouter: `${url}/openrouter/api/v1`,
    anthropic: `${url}/anthropic`,
    gemini: `${url}/gemini`,
    ollama: `${url}/ollama`,
    mock: url,
    'azure-openai': `${url}/azure`,
    'openai-compatible': `${url}/compatible/v1`,
  };
}
