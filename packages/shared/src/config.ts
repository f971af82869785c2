/**
 * Owns configuration: every environment variable of CONTRACT.md, parsed and validated with zod at
 * start-up. A bad value stops the process with a message naming the variable, the problem and the
 * fix; secrets are never echoed back.
 */
import { z } from 'zod';
import { type ProviderName, parseModelRef } from './models.ts';
import { OPENROUTER_KEY_SHAPE, redactUrl, registerSecret } from './secrets.ts';

const int = (name: string, min: number, max: number, fallback: number, hint: string) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === '') return fallback;
      const value = Number(raw);
      if (!Number.isInteger(value) || value < min || value > max) {
        ctx.addIssue({
          code: 'custom',
          message: `${name} must be a whole number from ${min} to ${max}, got "${raw}". Fix: ${hint}`,
        });
        return z.NEVER;
      }
      return value;
    });

const num = (name: string, min: number, max: number, fallback: number, hint: string) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === '') return fallback;
      const value = Number(raw);
      if (!Number.isFinite(value) || value < min || value > max) {
        ctx.addIssue({
          code: 'custom',
          message: `${name} must be a number from ${min} to ${max}, got "${raw}". Fix: ${hint}`,
        });
        return z.NEVER;
      }
      return value;
    });

const bool = (name: string) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === '') return undefined;
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      ctx.addIssue({ code: 'custom', message: `${name} must be true or false, got "${raw}". Fix: set ${name}=true or ${name}=false.` });
      return z.NEVER;
    });

const url = (name: string, example: string) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === '') return undefined;
      try {
        const parsed = new URL(raw.trim());
        if (!/^(https?|rediss?):$/.test(parsed.protocol)) throw new Error('protocol');
        return raw.trim().replace(/\/+$/, '');
      } catch {
        ctx.addIssue({
          code: 'custom',
          message: `${name} is not a valid URL ("${redactUrl(raw)}"). Fix: use a full URL such as ${example}.`,
        });
        return z.NEVER;
      }
    });

const secret = (name: string, shape?: { pattern: RegExp; describe: string; where: string }) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === '') return undefined;
      const value = raw.trim();
      registerSecret(value);
      if (/\s/.test(value)) {
        ctx.addIssue({ code: 'custom', message: `${name} contains white space. Fix: paste the key alone, without quotes or spaces.` });
        return z.NEVER;
      }
      if (shape && !shape.pattern.test(value)) {
        ctx.addIssue({
          code: 'custom',
          message: `${name} is malformed: expected ${shape.describe} (value not shown, ${value.length} characters). Fix: copy a fresh key from ${shape.where}.`,
        });
        return z.NEVER;
      }
      return value;
    });

const list = (name: string, itemPattern: RegExp, hint: string) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === '') return undefined;
      const items = raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const bad = items.filter((item) => !itemPattern.test(item));
      if (bad.length > 0) {
        ctx.addIssue({
          code: 'custom',
          message: `${name} has ${bad.length} malformed entr${bad.length === 1 ? 'y' : 'ies'}. Fix: ${hint}`,
        });
        return z.NEVER;
      }
      return items;
    });

/** A comma list of keys that are secrets: each is registered for scrubbing before it is checked. */
const keyList = (name: string, hint: string) =>
  list(name, /^[\x21-\x7e]{8,256}$/, hint).transform((keys) => {
    for (const key of keys ?? []) registerSecret(key);
    return keys;
  });

const envSchema = z.object({
  REDIS_URL: url('REDIS_URL', 'redis://127.0.0.1:6379'),
  REDIS_CLUSTER_NODES: list(
    'REDIS_CLUSTER_NODES',
    /^[^\s:]+:\d{1,5}$/,
    'use a comma list of host:port, e.g. 127.0.0.1:7000,127.0.0.1:7001',
  ),
  SWITCHYARD_NAMESPACE: z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const value = raw?.trim() || 'sy';
      if (!/^[A-Za-z0-9_-]{1,32}$/.test(value)) {
        ctx.addIssue({
          code: 'custom',
          message: `SWITCHYARD_NAMESPACE must be 1-32 letters, digits, _ or -, got "${raw}". Fix: e.g. SWITCHYARD_NAMESPACE=sy.`,
        });
        return z.NEVER;
      }
      return value;
    }),
  /** The fleet config file (fleet-config/): its path, read and validated by loadFleetConfig. */
  SWITCHYARD_CONFIG: z
    .string()
    .optional()
    .transform((raw) => raw?.trim() || undefined),
  API_HOST: z
    .string()
    .optional()
    .transform((v) => v?.trim() || '127.0.0.1'),
  API_PORT: int('API_PORT', 0, 65535, 8080, 'set API_PORT to a free TCP port, e.g. 8080.'),
  API_KEYS: keyList('API_KEYS', 'use a comma list of client keys, each 8-256 printable characters without spaces.'),
  ADMIN_API_KEYS: keyList('ADMIN_API_KEYS', 'use a comma list of operator keys, each 8-256 printable characters without spaces.'),
  RATE_LIMIT_RPM: int('RATE_LIMIT_RPM', 0, 10_000_000, 6000, 'set requests per minute per client key (0 turns the limit off).'),
  BODY_LIMIT_BYTES: int('BODY_LIMIT_BYTES', 1024, 100 * 1024 * 1024, 1024 * 1024, 'set a size in bytes, e.g. 1048576 for 1 MiB.'),
  WORKER_CONCURRENCY: int('WORKER_CONCURRENCY', 1, 10_000, 16, 'set jobs in flight per worker process, e.g. 16.'),
  OPENROUTER_API_KEY: secret('OPENROUTER_API_KEY', {
    pattern: OPENROUTER_KEY_SHAPE,
    describe: '"sk-or-v1-" followed by 64 hex characters',
    where: 'https://openrouter.ai/settings/keys',
  }),
  OPENAI_API_KEY: secret('OPENAI_API_KEY'),
  ANTHROPIC_API_KEY: secret('ANTHROPIC_API_KEY'),
  GEMINI_API_KEY: secret('GEMINI_API_KEY'),
  OPENROUTER_BASE_URL: url('OPENROUTER_BASE_URL', 'https://openrouter.ai/api/v1'),
  OPENAI_BASE_URL: url('OPENAI_BASE_URL', 'https://api.openai.com/v1'),
  ANTHROPIC_BASE_URL: url('ANTHROPIC_BASE_URL', 'https://api.anthropic.com'),
  GEMINI_BASE_URL: url('GEMINI_BASE_URL', 'https://generativelanguage.googleapis.com'),
  OLLAMA_BASE_URL: url('OLLAMA_BASE_URL', 'http://127.0.0.1:11434'),
  MOCK_PROVIDER: bool('MOCK_PROVIDER'),
  MOCK_PROVIDER_URL: url('MOCK_PROVIDER_URL', 'http://127.0.0.1:4010'),
  DEFAULT_MODEL: z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === '') return undefined;
      const parsed = parseModelRef(raw.trim());
      if ('error' in parsed) {
        ctx.addIssue({ code: 'custom', message: `DEFAULT_MODEL: ${parsed.error}.` });
        return z.NEVER;
      }
      return raw.trim();
    }),
  CIRCUIT_FAILURE_THRESHOLD: int(
    'CIRCUIT_FAILURE_THRESHOLD',
    1,
    10_000,
    5,
    'set how many counted failures in a row open a circuit, e.g. 5.',
  ),
  CIRCUIT_RESET_MS: int(
    'CIRCUIT_RESET_MS',
    100,
    86_400_000,
    120_000,
    'set milliseconds an open circuit waits before a probe, e.g. 120000.',
  ),
  CIRCUIT_PROBE_LEASE_MS: int('CIRCUIT_PROBE_LEASE_MS', 100, 600_000, 30_000, 'set how long a half-open probe lease lasts, e.g. 30000.'),
  CIRCUIT_FAILURE_RATE: num(
    'CIRCUIT_FAILURE_RATE',
    0,
    1,
    0,
    'set a failure ratio (0-1) over the window that also opens the circuit; 0 turns it off.',
  ),
  CIRCUIT_WINDOW_MS: int('CIRCUIT_WINDOW_MS', 1000, 3_600_000, 60_000, 'set the failure-rate window in milliseconds, e.g. 60000.'),
  CIRCUIT_MIN_CALLS: int(
    'CIRCUIT_MIN_CALLS',
    1,
    1_000_000,
    20,
    'set the calls needed in the window before the failure rate counts, e.g. 20.',
  ),
  STATUS_FRESH_MS: int('STATUS_FRESH_MS', 0, 86_400_000, 60_000, 'set milliseconds a status stays fresh, e.g. 60000.'),
  STATUS_STALE_MS: int(
    'STATUS_STALE_MS',
    0,
    86_400_000,
    300_000,
    'set milliseconds after which a status is refreshed before serving, e.g. 300000.',
  ),
  PROBE_TIMEOUT_MS: int('PROBE_TIMEOUT_MS', 50, 60_000, 3_000, 'set the health-probe deadline in milliseconds, e.g. 3000.'),
  HEDGE_DELAY_MS: int('HEDGE_DELAY_MS', 0, 600_000, 1200, 'set milliseconds before the first hedge starts, e.g. 1200.'),
  HEDGE_STAGGER_MS: int('HEDGE_STAGGER_MS', 0, 600_000, 400, 'set milliseconds between further hedges, e.g. 400.'),
  HEDGE_RATIO: num('HEDGE_RATIO', 0, 10, 0.1, 'set the hedges allowed per primary call (token bucket refill), e.g. 0.1 for 10%.'),
  HEDGE_BURST: int('HEDGE_BURST', 0, 100_000, 20, 'set the hedge token bucket size, e.g. 20.'),
  JOB_BUDGET_MS: int('JOB_BUDGET_MS', 100, 600_000, 30_000, 'set the default job budget in milliseconds, e.g. 30000.'),
  ATTEMPT_TIMEOUT_MS: int('ATTEMPT_TIMEOUT_MS', 50, 600_000, 20_000, 'set the per-call provider deadline in milliseconds, e.g. 20000.'),
  PROVIDER_CONCURRENCY: list('PROVIDER_CONCURRENCY', /^[a-z]+=\d+$/, 'use provider=limit pairs, e.g. openai=32,anthropic=16.'),
  PROVIDER_CONCURRENCY_DEFAULT: int(
    'PROVIDER_CONCURRENCY_DEFAULT',
    1,
    100_000,
    64,
    'set the in-flight cap per provider and worker, e.g. 64.',
  ),
  JOB_ATTEMPTS: int('JOB_ATTEMPTS', 1, 100, 3, 'set queue-level attempts for transient failures, e.g. 3.'),
  JOB_BACKOFF_MS: int('JOB_BACKOFF_MS', 0, 600_000, 1000, 'set the first queue-level retry delay in milliseconds, e.g. 1000.'),
  RESULT_TTL_S: int('RESULT_TTL_S', 1, 30 * 86_400, 3600, 'set seconds completed jobs stay readable, e.g. 3600.'),
  RESULT_MAX_COUNT: int('RESULT_MAX_COUNT', 1, 100_000_000, 10_000, 'set how many completed jobs are kept at most, e.g. 10000.'),
  FAILED_TTL_S: int('FAILED_TTL_S', 1, 30 * 86_400, 86_400, 'set seconds failed jobs stay readable, e.g. 86400.'),
  SHUTDOWN_TIMEOUT_MS: int('SHUTDOWN_TIMEOUT_MS', 100, 600_000, 10_000, 'set the drain deadline on SIGTERM in milliseconds, e.g. 10000.'),
  REDIS_CONNECT_TIMEOUT_MS: int(
    'REDIS_CONNECT_TIMEOUT_MS',
    100,
    60_000,
    2_000,
    'set the Redis connect deadline in milliseconds, e.g. 2000.',
  ),
  LOG_LEVEL: z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const value = raw?.trim().toLowerCase() || 'info';
      const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
      if (!levels.includes(value)) {
        ctx.addIssue({ code: 'custom', message: `LOG_LEVEL must be one of ${levels.join(', ')}, got "${raw}". Fix: e.g. LOG_LEVEL=info.` });
        return z.NEVER;
      }
      return value as 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
    }),
});

type Env = z.infer<typeof envSchema>;

export interface ProviderConfig {
  name: ProviderName;
  apiKey?: string;
  baseUrl?: string;
}

export type Config = Omit<Env, 'PROVIDER_CONCURRENCY' | 'MOCK_PROVIDER'> & {
  MOCK_PROVIDER: boolean;
  REDIS_URL: string;
  PROVIDER_CONCURRENCY: Partial<Record<ProviderName, number>>;
  /** Providers that are enabled, in the order of CONTRACT.md. */
  providers: ProviderConfig[];
  DEFAULT_MODEL: string;
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const DEFAULT_MODELS: Record<ProviderName, string> = {
  openrouter: 'openrouter/meta-llama/llama-3.1-8b-instruct',
  openai: 'openai/gpt-4o-mini',
  anthropic: 'anthropic/claude-sonnet-4-5',
  gemini: 'gemini/gemini-2.5-flash',
  ollama: 'ollama/llama3.2',
  mock: 'mock/echo',
};

/** Parses the environment. Throws ConfigError listing every problem at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = issue.path.join('.');
        return issue.message.startsWith(name) ? issue.message : `${name}: ${issue.message}`;
      }),
    );
  }
  const e = parsed.data;
  const providers: ProviderConfig[] = [];
  if (e.OPENROUTER_API_KEY) providers.push({ name: 'openrouter', apiKey: e.OPENROUTER_API_KEY, baseUrl: e.OPENROUTER_BASE_URL });
  if (e.OPENAI_API_KEY) providers.push({ name: 'openai', apiKey: e.OPENAI_API_KEY, baseUrl: e.OPENAI_BASE_URL });
  if (e.ANTHROPIC_API_KEY) providers.push({ name: 'anthropic', apiKey: e.ANTHROPIC_API_KEY, baseUrl: e.ANTHROPIC_BASE_URL });
  if (e.GEMINI_API_KEY) providers.push({ name: 'gemini', apiKey: e.GEMINI_API_KEY, baseUrl: e.GEMINI_BASE_URL });
  if (e.OLLAMA_BASE_URL) providers.push({ name: 'ollama', baseUrl: e.OLLAMA_BASE_URL });
  // With a fleet config file its deployments are the fleet: the environment's providers only matter without one.
  const withFile = e.SWITCHYARD_CONFIG !== undefined;
  const mockEnabled = e.MOCK_PROVIDER ?? (providers.length === 0 && !withFile);
  if (mockEnabled) providers.push({ name: 'mock', baseUrl: e.MOCK_PROVIDER_URL });

  const problems: string[] = [];
  if (providers.length === 0 && !withFile) {
    problems.push(
      'MOCK_PROVIDER=false and no provider key is set, so no provider is enabled. Fix: set a provider key (e.g. OPENAI_API_KEY) or MOCK_PROVIDER=true.',
    );
  }
  if (e.STATUS_STALE_MS < e.STATUS_FRESH_MS) {
    problems.push(
      `STATUS_STALE_MS (${e.STATUS_STALE_MS}) is below STATUS_FRESH_MS (${e.STATUS_FRESH_MS}). Fix: make STATUS_STALE_MS at least STATUS_FRESH_MS.`,
    );
  }
  const concurrency: Partial<Record<ProviderName, number>> = {};
  for (const pair of e.PROVIDER_CONCURRENCY ?? []) {
    const [name, limit] = pair.split('=') as [string, string];
    const ref = parseModelRef(`${name}/x`);
    if ('error' in ref)
      problems.push(
        `PROVIDER_CONCURRENCY names unknown provider "${name}". Fix: use one of openrouter, openai, anthropic, gemini, ollama, mock.`,
      );
    else concurrency[ref.provider] = Number(limit);
  }
  const first = providers[0];
  const defaultModel = e.DEFAULT_MODEL ?? (first ? DEFAULT_MODELS[first.name] : 'mock/echo');
  const defaultProvider = defaultModel.split('/')[0];
  if (!withFile && !providers.some((p) => p.name === defaultProvider)) {
    problems.push(
      `DEFAULT_MODEL "${defaultModel}" names provider "${defaultProvider}", which is not enabled. Fix: set its key or base URL, or pick a model of an enabled provider.`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    ...e,
    REDIS_URL: e.REDIS_URL ?? 'redis://127.0.0.1:6379',
    MOCK_PROVIDER: mockEnabled,
    PROVIDER_CONCURRENCY: concurrency,
    providers,
    DEFAULT_MODEL: defaultModel,
  };
}

/** For process entry points: load, or print the problems and exit 1 at once. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

export function providerConcurrency(config: Config, provider: ProviderName): number {
  return config.PROVIDER_CONCURRENCY[provider] ?? config.PROVIDER_CONCURRENCY_DEFAULT;
}
