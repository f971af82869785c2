/**
 * Owns building adapters: one per deployment from its DeploymentConfig. The factory table, keyed by
 * deployment kind, is the one place that names every provider folder. Without a config file the
 * environment's providers become implicit deployments first (implicitFleetConfig), so every
 * process builds its adapters here, through fleet-runtime.ts.
 */
import type { DeploymentConfig, DeploymentKind, Logger } from '@switchyard/shared';
import { createAnthropicAdapter } from './anthropic/index.ts';
import { createAzureOpenAIAdapter } from './azure-openai/index.ts';
import { createGeminiAdapter } from './gemini/index.ts';
import { createMockAdapter } from './mock/index.ts';
import { createOllamaAdapter } from './ollama/index.ts';
import { createOpenAIAdapter } from './openai/index.ts';
import { createOpenAICompatibleServerAdapter } from './openai-compatible/index.ts';
import { createOpenRouterAdapter } from './openrouter/index.ts';
import type { ProviderAdapter } from './types.ts';

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
