/**
 * Owns building adapters: one per deployment from its DeploymentConfig (the factory table, keyed by
 * deployment kind, is the one place that names every provider folder), and the enabled providers of
 * the environment as implicit deployments; resolving `provider/model` references to an adapter, and
 * the OpenAI-compatible model list for GET /v1/models.
 */
import {
  type Config,
  type DeploymentConfig,
  type DeploymentKind,
  type Logger,
  type ProviderConfig,
  type ProviderName,
  parseModelRef,
} from '@switchyard/shared';
import { createAnthropicAdapter } from './anthropic/index.ts';
import { createAzureOpenAIAdapter } from './azure-openai/index.ts';
import { createGeminiAdapter } from './gemini/index.ts';
import { createMockAdapter } from './mock/index.ts';
import { createOllamaAdapter } from './ollama/index.ts';
import { createOpenAIAdapter } from './openai/index.ts';
import { createOpenAICompatibleServerAdapter } from './openai-compatible/index.ts';
import { createOpenRouterAdapter } from './openrouter/index.ts';
import type { ProviderAdapter } from './types.ts';

export type ProviderRegistry = Map<ProviderName, ProviderAdapter>;

export interface FactoryContext {
  defaultTimeoutMs: number;
  logger: Logger | undefined;
}

export type DeploymentFactory = (deployment: DeploymentConfig, context: FactoryContext) => ProviderAdapter;

function requireKey(deployment: DeploymentConfig): string {
  if (deployment.apiKey) return deployment.apiKey;
  throw new Error(
    deployment.id === deployment.provider
      ? `${deployment.id} is enabled without an API key`
      : `deployment "${deployment.id}" (${deployment.provider}) has no api_key. Fix: set api_key, e.g. api_key: \${MY_KEY_VARIABLE}`,
  );
}

/** One factory per deployment kind; adding a kind means adding a folder and one line here. */
export const DEPLOYMENT_FACTORIES: Readonly<Record<DeploymentKind, DeploymentFactory>> = {
  openrouter: (d, c) => createOpenRouterAdapter({ apiKey: requireKey(d), baseUrl: d.baseUrl, ...c }),
  openai: (d, c) => createOpenAIAdapter({ apiKey: requireKey(d), baseUrl: d.baseUrl, ...c }),
  'azure-openai': (d, c) => createAzureOpenAIAdapter({ apiKey: requireKey(d), baseUrl: d.baseUrl, apiVersion: d.apiVersion, ...c }),
  'openai-compatible': (d, c) => createOpenAICompatibleServerAdapter({ apiKey: d.apiKey, baseUrl: d.baseUrl, ...c }),
  anthropic: (d, c) => createAnthropicAdapter({ apiKey: requireKey(d), baseUrl: d.baseUrl, ...c }),
  gemini: (d, c) => createGeminiAdapter({ apiKey: requireKey(d), baseUrl: d.baseUrl, ...c }),
  ollama: (d, c) => createOllamaAdapter({ baseUrl: d.baseUrl, ...c }),
  mock: (d, c) => createMockAdapter({ url: d.baseUrl, ...c }),
};

/** The adapter of one deployment of the fleet config. */
export function createDeploymentAdapter(deployment: DeploymentConfig, context: FactoryContext): ProviderAdapter {
  return DEPLOYMENT_FACTORIES[deployment.provider](deployment, context);
}

/** An enabled provider of the environment as the implicit deployment named after it. */
function implicitDeployment(provider: ProviderConfig): DeploymentConfig {
  return {
    id: provider.name,
    provider: provider.name,
    ...(provider.baseUrl !== undefined ? { baseUrl: provider.baseUrl } : {}),
    ...(provider.apiKey !== undefined ? { apiKey: provider.apiKey } : {}),
  };
}

/** The adapters of every enabled provider, in the configuration's order. */
export function createProviderRegistry(config: Pick<Config, 'providers' | 'ATTEMPT_TIMEOUT_MS'>, logger?: Logger): ProviderRegistry {
  const registry: ProviderRegistry = new Map();
  const context: FactoryContext = { defaultTimeoutMs: config.ATTEMPT_TIMEOUT_MS, logger: logger?.child({ component: 'providers' }) };
  for (const provider of config.providers)
    registry.set(provider.name, DEPLOYMENT_FACTORIES[provider.name](implicitDeployment(provider), context));
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
