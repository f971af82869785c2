/**
 * Owns start-up key checks: each configured provider key is checked for the vendor's shape and for
 * common paste mistakes, and problems are reported with the variable's name and the fix. A key is
 * never printed; messages give its length at most. OpenRouter's shape is a hard rule (CONTRACT);
 * the others are warnings, because proxies and gateways issue keys of their own shapes.
 */
import { type Config, OPENROUTER_KEY_SHAPE, type ProviderName } from '@switchyard/shared';

export interface KeyProblem {
  provider: ProviderName;
  variable: string;
  severity: 'error' | 'warning';
  message: string;
}

interface KeyRule {
  provider: ProviderName;
  variable: string;
  baseVariable: string;
  defaultHost: string;
  shape: RegExp;
  describe: string;
  where: string;
  /** Hard rule whatever the base URL (OpenRouter's shape is part of the contract). */
  strict: boolean;
}

export const KEY_RULES: readonly KeyRule[] = [
  {
    provider: 'openrouter',
    variable: 'OPENROUTER_API_KEY',
    baseVariable: 'OPENROUTER_BASE_URL',
    defaultHost: 'openrouter.ai',
    shape: OPENROUTER_KEY_SHAPE,
    describe: '"sk-or-v1-" followed by 64 hex characters',
    where: 'https://openrouter.ai/settings/keys',
    strict: true,
  },
  {
    provider: 'openai',
    variable: 'OPENAI_API_KEY',
    baseVariable: 'OPENAI_BASE_URL',
    defaultHost: 'api.openai.com',
    shape: /^sk-[A-Za-z0-9_-]{20,}$/,
    describe: '"sk-" followed by at least 20 letters, digits, "_" or "-"',
    where: 'https://platform.openai.com/api-keys',
    strict: false,
  },
  {
    provider: 'anthropic',
    variable: 'ANTHROPIC_API_KEY',
    baseVariable: 'ANTHROPIC_BASE_URL',
    defaultHost: 'api.anthropic.com',
    shape: /^sk-ant-[A-Za-z0-9_-]{20,}$/,
    describe: '"sk-ant-" followed by at least 20 letters, digits, "_" or "-"',
    where: 'https://console.anthropic.com/settings/keys',
    strict: false,
  },
  {
    provider: 'gemini',
    variable: 'GEMINI_API_KEY',
    baseVariable: 'GEMINI_BASE_URL',
    defaultHost: 'generativelanguage.googleapis.com',
    shape: /^AIza[0-9A-Za-z_-]{35}$/,
    describe: '"AIza" followed by 35 letters, digits, "_" or "-"',
    where: 'https://aistudio.google.com/app/apikey',
    strict: false,
  },
];

const PLACEHOLDER =
  /^(?:<.*>|\$\{?[A-Z_]+\}?|x{3,}|\.{3}|changeme|change-me|your[-_ ]?(?:api[-_ ]?)?key(?:[-_ ]?here)?|sk-\.{3}|sk-x+|todo|test|dummy|none|null|undefined)$/i;

/** Prefixes that say which vendor a key really belongs to, for keys pasted into the wrong variable. */
const FOREIGN_PREFIXES: ReadonlyArray<readonly [RegExp, ProviderName]> = [
  [/^sk-or-/, 'openrouter'],
  [/^sk-ant-/, 'anthropic'],
  [/^AIza/, 'gemini'],
];

function pointsElsewhere(baseUrl: string | undefined, defaultHost: string): boolean {
  if (!baseUrl) return false;
  try {
    return new URL(baseUrl).hostname !== defaultHost;
  } catch {
    return false;
  }
}

type EnvLike = Record<string, string | undefined>;

function keysFrom(input: Pick<Config, 'providers'> | EnvLike): EnvLike {
  if (Array.isArray((input as Pick<Config, 'providers'>).providers)) {
    const env: EnvLike = {};
    for (const p of (input as Pick<Config, 'providers'>).providers) {
      const rule = KEY_RULES.find((r) => r.provider === p.name);
      if (!rule) continue;
      env[rule.variable] = p.apiKey;
      env[rule.baseVariable] = p.baseUrl;
    }
    return env;
  }
  return input as EnvLike;
}

/**
 * Problems with the configured provider keys. Takes the loaded Config (keys that passed loadConfig)
 * or a raw environment (to report everything before loadConfig runs, e.g. in a doctor command).
 */
export function checkProviderKeys(input: Pick<Config, 'providers'> | EnvLike): KeyProblem[] {
  const env = keysFrom(input);
  const problems: KeyProblem[] = [];
  for (const rule of KEY_RULES) {
    const raw = env[rule.variable];
    if (raw === undefined || raw === '') continue;
    const report = (severity: KeyProblem['severity'], problem: string, fix: string) =>
      problems.push({
        provider: rule.provider,
        variable: rule.variable,
        severity,
        message: `${rule.variable} ${problem} (value not shown, ${raw.length} characters). Fix: ${fix}`,
      });
    if (/^\s|\s$/.test(raw) || /^["'].*["']$/.test(raw)) {
      report('error', 'has surrounding spaces or quotes', 'set the key alone, without quotes or spaces.');
      continue;
    }
    if (PLACEHOLDER.test(raw)) {
      report('error', 'holds a placeholder, not a key', `paste a real key from ${rule.where}.`);
      continue;
    }
    const foreign = FOREIGN_PREFIXES.find(([prefix, owner]) => owner !== rule.provider && prefix.test(raw));
    if (foreign) {
      report(
        'error',
        `holds a key of another provider (${foreign[1]})`,
        `move it to the ${foreign[1].toUpperCase()}_API_KEY variable and set a ${rule.provider} key here.`,
      );
      continue;
    }
    if (rule.shape.test(raw)) continue;
    if (rule.strict) {
      report('error', `is malformed: expected ${rule.describe}`, `copy a fresh key from ${rule.where}.`);
    } else if (!pointsElsewhere(env[rule.baseVariable], rule.defaultHost)) {
      report(
        'warning',
        `does not look like a ${rule.provider} key: expected ${rule.describe}`,
        `check it, or copy a fresh key from ${rule.where}.`,
      );
    }
  }
  return problems;
}

/** One line per problem, errors first; for printing at start-up. */
export function formatKeyProblems(problems: KeyProblem[]): string {
  return [...problems]
    .sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1))
    .map((p) => `${p.severity === 'error' ? 'error' : 'warning'}: ${p.message}`)
    .join('\n');
}
