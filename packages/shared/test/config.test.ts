import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { redactSecrets } from '../src/secrets.ts';

const problems = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('expected a ConfigError');
};

describe('configuration', () => {
  it('applies the contract defaults and enables the mock when no provider is configured', () => {
    const config = loadConfig({});
    expect(config.API_PORT).toBe(8080);
    expect(config.WORKER_CONCURRENCY).toBe(16);
    expect(config.CIRCUIT_FAILURE_THRESHOLD).toBe(5);
    expect(config.CIRCUIT_RESET_MS).toBe(120_000);
    expect(config.STATUS_FRESH_MS).toBe(60_000);
    expect(config.STATUS_STALE_MS).toBe(300_000);
    expect(config.HEDGE_DELAY_MS).toBe(1200);
    expect(config.HEDGE_STAGGER_MS).toBe(400);
    expect(config.JOB_BUDGET_MS).toBe(30_000);
    expect(config.MOCK_PROVIDER).toBe(true);
    expect(config.DEFAULT_MODEL).toBe('mock/echo');
  });

  it('names the variable, the problem and the fix', () => {
    const message = problems({ API_PORT: 'eighty', WORKER_CONCURRENCY: '0' });
    expect(message).toMatch(/API_PORT must be a whole number from 0 to 65535, got "eighty". Fix:/);
    expect(message).toMatch(/WORKER_CONCURRENCY .*Fix:/);
  });

  it('reports a malformed OpenRouter key at start-up without printing it', () => {
    const key = 'sk-or-v1-notreallyhexbutlongenough-0123456789';
    const message = problems({ OPENROUTER_API_KEY: key });
    expect(message).toMatch(/OPENROUTER_API_KEY is malformed: expected "sk-or-v1-" followed by 64 hex characters/);
    expect(message).not.toContain(key);
    expect(message).not.toContain('notreallyhex');
  });

  it('accepts a well-formed OpenRouter key and makes openrouter the default', () => {
    const config = loadConfig({ OPENROUTER_API_KEY: `sk-or-v1-${'ab'.repeat(32)}` });
    expect(config.providers.map((p) => p.name)).toEqual(['openrouter']);
    expect(config.DEFAULT_MODEL.startsWith('openrouter/')).toBe(true);
    expect(config.MOCK_PROVIDER).toBe(false);
  });

  it('rejects a DEFAULT_MODEL of a provider that is not enabled', () => {
    expect(problems({ DEFAULT_MODEL: 'openai/gpt-4o-mini' })).toMatch(/not enabled/);
  });

  it('never shows a Redis password in an error', () => {
    expect(problems({ REDIS_URL: 'redis://:s3cretpass@', API_PORT: 'x' })).not.toContain('s3cretpass');
  });

  it('scrubs configured secrets from any text once registered', () => {
    loadConfig({ OPENAI_API_KEY: 'custom-shaped-key-value-123' });
    expect(redactSecrets('calling with custom-shaped-key-value-123 now')).toBe('calling with [REDACTED] now');
    expect(redactSecrets('Authorization: Bearer abcdef123456')).toBe('Authorization: Bearer [REDACTED]');
  });

  it('reads client and operator keys as comma lists and scrubs every one of them', () => {
    const config = loadConfig({ API_KEYS: ' client-key-one1 , client-key-two2 ', ADMIN_API_KEYS: 'operator-key-01' });
    expect(config.API_KEYS).toEqual(['client-key-one1', 'client-key-two2']);
    expect(config.ADMIN_API_KEYS).toEqual(['operator-key-01']);
    expect(loadConfig({}).ADMIN_API_KEYS).toBeUndefined();
    expect(redactSecrets('client-key-two2 and operator-key-01 in a line')).toBe('[REDACTED] and [REDACTED] in a line');
  });

  it('names a malformed operator key list and the fix without printing the key', () => {
    const message = problems({ ADMIN_API_KEYS: 'good-operator-key,short' });
    expect(message).toMatch(/ADMIN_API_KEYS has 1 malformed entry\. Fix: use a comma list of operator keys, each 8-256 printable/);
    expect(message).not.toContain('short');
  });
});
