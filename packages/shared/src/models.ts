/** Model references are `provider/model`; the provider part picks the adapter. */

export const PROVIDER_NAMES = ['openrouter', 'openai', 'anthropic', 'gemini', 'ollama', 'mock'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

export interface ModelRef {
  provider: ProviderName;
  /** The model id as the provider knows it, e.g. `meta-llama/llama-3.1-8b-instruct`. */
  model: string;
}

export function isProviderName(value: string): value is ProviderName {
  return (PROVIDER_NAMES as readonly string[]).includes(value);
}

/** Parses `provider/model`; returns an explanation instead of throwing so callers can build 400s. */
export function parseModelRef(ref: string): ModelRef | { error: string } {
  const slash = ref.indexOf('/');
  if (slash <= 0 || slash === ref.length - 1) {
    return { error: `model "${ref}" must be "provider/model", e.g. "openai/gpt-4o-mini" or "mock/echo"` };
  }
  const provider = ref.slice(0, slash);
  if (!isProviderName(provider)) {
    return { error: `model "${ref}" names unknown provider "${provider}"; known: ${PROVIDER_NAMES.join(', ')}` };
  }
  return { provider, model: ref.slice(slash + 1) };
}

export function formatModelRef(ref: ModelRef): string {
  return `${ref.provider}/${ref.model}`;
}
