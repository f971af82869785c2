/**
 * Owns building the enabled adapters from configuration, resolving `provider/model` references to
 * an adapter, and the OpenAI-compatible model list for GET /v1/models. The factory table is the one
 * place that names every provider folder.
 */
import {
  type Config,
  type DeploymentConfig,
  isProviderName,
  type Logger,
  type ProviderConfig,
  type ProviderName,
  parseModelRef,
} from '@switchyard/shared';
import { createAnthropicAdapter } from './anthropic/index.ts';
import { createGeminiAdapter } from './gemini/index.ts';
import { createMockAdapter } from './mock/index.ts';
import { createOllamaAdapter } from './ollama/index.ts';
import { createOpenAIAdapter } from './openai/index.ts';
import { createOpenRouterAdapter } from './openrouter/index.ts';
import type { ProviderAdapter } from './types.ts';

export type ProviderRegistry = Map<ProviderName, ProviderAdapter>;

export interface FactoryContext {
  defaultTimeoutMs: number;
  logger: Logger | undefined;
}

type Factory = (provider: ProviderConfig, context: FactoryContext) => ProviderAdapter;

function requireKey(provider: ProviderConfig): string {
  if (!provider.apiKey) throw new Error(`${provider.name} is enabled without an API key`);
  return provider.apiKey;
}

export const PROVIDER_FACTORIES: Readonly<Record<ProviderName, Factory>> = {
  openrouter: (p, c) => createOpenRouterAdapter({ apiKey: requireKey(p), baseUrl: p.baseUrl, ...c }),
  openai: (p, c) => createOpenAIAdapter({ apiKey: requireKey(p), baseUrl: p.baseUrl, ...c }),
  anthropic: (p, c) => createAnthropicAdapter({ apiKey: requireKey(p), baseUrl: p.baseUrl, ...c }),
  gemini: (p, c) => createGeminiAdapter({ apiKey: requireKey(p), baseUrl: p.baseUrl, ...c }),
  ollama: (p, c) => createOllamaAdapter({ baseUrl: p.baseUrl, ...c }),
  mock: (p, c) => createMockAdapter({ url: p.baseUrl, ...c }),
};

/**
 * The adapter of one deployment of the fleet config. Kinds without a folder of their own yet are
 * refused here, naming the deployment.
 */
export function createDeploymentAdapter(deployment: DeploymentConfig, context: FactoryContext): ProviderAdapter {
  const kind = deployment.provider;
  if (!isProviderName(kind)) throw new Error(`deployment "${deployment.id}": provider kind "${kind}" has no adapter`);
  return PROVIDER_FACTORIES[kind]({ name: kind, apiKey: deployment.apiKey, baseUrl: deployment.baseUrl }, context);
}

/** The adapters of every enabled provider, in the configuration's order. */
export function createProviderRegistry(config: Pick<Config, 'providers' | 'ATTEMPT_TIMEOUT_MS'>, logger?: Logger): ProviderRegistry {
  const registry: ProviderRegistry = new Map();
  const context: FactoryContext = { defaultTimeoutMs: config.ATTEMPT_TIMEOUT_MS, logger: logger?.child({ component: 'providers' }) };
  for (const provider of config.providers) registry.set(provider.name, PROVIDER_FACTORIES[provider.name](provider, context));
  return registry;
}

export type ResolvedModel = { adapter: ProviderAdapter; provider: ProviderName; model: string } | { error: string };

/** `openai/gpt-4o-mini` -> the OpenAI adapter and `gpt-4o-mini`, or why not (unknown or disabled provider). */
export function resolveModel(registry: ProviderRegistry, ref: string): ResolvedModel {
  const parsed = parseModelRef(ref);
  if ('error' in parsed) return parsed;
  const adapter = registry.get(parsed.provider);
  if (!adapter) {
    return { error: `provider "${parsed.provider}" is not enabled; enabled: ${[...registry.keys()].join(', ') || 'none'}` };
  }
  return { adapter, provider: parsed.provider, model: parsed.model };
}

export interface ModelList {
  object: 'list';
  data: Array<{ id: string; object: 'model'; created: number; owned_by: string }>;
}

/** OpenAI-compatible list of the models the enabled providers offer, ids prefixed `provider/`. */
export function listModels(registry: ProviderRegistry): ModelList {
  const data: ModelList['data'] = [];
  for (const [name, adapter] of registry) {
    for (const model of adapter.models) data.push({ id: `${name}/${model}`, object: 'model', created: 0, owned_by: name });
  }
  return { object: 'list', data };
}
