/**
 * Owns the model list of GET /v1/models: the models every enabled provider offers, named
 * `provider/model`, in OpenAI's list shape.
 */
import type { Config, ProviderName } from '@switchyard/shared';

/** Until the providers package's registry is wired in: each provider's well-known models. */
const KNOWN_MODELS: Record<ProviderName, readonly string[]> = {
  openrouter: ['meta-llama/llama-3.1-8b-instruct', 'openai/gpt-4o-mini', 'anthropic/claude-sonnet-4.5', 'google/gemini-2.5-flash'],
  openai: ['gpt-4o-mini', 'gpt-4o', 'gpt-4.1-mini', 'gpt-4.1'],
  anthropic: ['claude-sonnet-4-5', 'claude-haiku-4-5', 'claude-opus-4-1'],
  gemini: ['gemini-2.5-flash', 'gemini-2.5-pro', 'gemini-2.5-flash-lite'],
  ollama: ['llama3.2'],
  mock: ['echo'],
};

export interface ModelObject {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

/** Fixed, so the list is stable between calls and replicas. */
const CREATED = 1_735_689_600; // 2025-01-01T00:00:00Z

export function listModels(
  config: Config,
  modelsOf: (provider: ProviderName) => readonly string[] = (p) => KNOWN_MODELS[p],
): ModelObject[] {
  const seen = new Set<string>();
  const data: ModelObject[] = [];
  const add = (id: string, owner: string) => {
    if (seen.has(id)) return;
    seen.add(id);
    data.push({ id, object: 'model', created: CREATED, owned_by: owner });
  };
  add(config.DEFAULT_MODEL, config.DEFAULT_MODEL.split('/')[0] ?? 'switchyard');
  for (const provider of config.providers) {
    for (const model of modelsOf(provider.name)) add(`${provider.name}/${model}`, provider.name);
  }
  return data;
}
