/**
 * Owns OpenRouter's health probe: GET /key answers whether the key works and how much of its limit
 * is left, so an exhausted key shows as credits_exhausted in status before any job fails on it.
 */
import type OpenAI from 'openai';
import { z } from 'zod';
import { ProviderError } from '../provider-error.ts';
import type { ProbeCheck } from '../transport/probe.ts';

const KeySchema = z.object({
  data: z.object({
    // The key's label echoes part of the key itself; it is deliberately not read.
    limit: z.number().nullish(),
    usage: z.number().nullish(),
    limit_remaining: z.number().nullish(),
  }),
});

export function openRouterKeyProbe(client: OpenAI, options: { timeoutMs: number }): ProbeCheck {
  return async (signal) => {
    const body: unknown = await client.get('/key', { signal, timeout: options.timeoutMs + 5_000, maxRetries: 0 });
    const parsed = KeySchema.safeParse(body);
    if (!parsed.success) {
      throw new ProviderError({
        errorClass: 'invalid_response',
        provider: 'openrouter',
        message: 'openrouter: /key answer has no data object',
      });
    }
    const { limit, usage, limit_remaining: remaining } = parsed.data.data;
    const credits = { remaining: remaining ?? null, limit: limit ?? null, usage: usage ?? null };
    if (credits.remaining !== null && credits.remaining <= 0) {
      return {
        state: 'credits_exhausted',
        credits,
        error: { class: 'credits_exhausted', message: `openrouter: the key's credit limit is used up (limit ${credits.limit ?? 'none'})` },
      };
    }
    return { state: 'active', credits };
  };
}
