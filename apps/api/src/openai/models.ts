/**
 * Owns the model list of GET /v1/models: the models every enabled provider's adapter offers, named
 * `provider/model`, in OpenAI's list shape, with DEFAULT_MODEL always among them.
 */
import { listModels as adapterModels, type ProviderRegistry } from '@switchyard/providers';
import type { Config } from '@switchyard/shared';

export interface ModelObject {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

export function listModels(config: Config, providers: ProviderRegistry): ModelObject[] {
  const data = adapterModels(providers).data.map((m) => ({ ...m }));
  if (!data.some((m) => m.id === config.DEFAULT_MODEL)) {
    data.unshift({ id: config.DEFAULT_MODEL, object: 'model', created: 0, owned_by: config.DEFAULT_MODEL.split('/')[0] ?? 'switchyard' });
  }
  return data;
}
