/**
 * Owns start-up key checks: each configured provider key (and each deployment's api_key) is checked
 * for the vendor's shape and for common paste mistakes, and problems are reported with the variable
 * or config field and the fix. A key is never printed; messages give its length at most.
 * OpenRouter's shape is a hard rule (CONTRACT); the others are warnings, because proxies and
 * gateways issue keys of their own shapes. Azure keys (32 hex, or an Entra token) and the keys of
 * OpenAI-compatible servers (whatever the operator chose) have no shape to check: only whitespace
 * and quotes, which no key contains, are errors there.
 */
import { type Config, type DeploymentConfig, type DeploymentKind, OPENROUTER_KEY_SHAPE, type ProviderName } from '@switchyard/shared';

export interface KeyProblem {
  provider: DeploymentKind;
  /** The environment variable, or the config field (`deployments[2].api_key`). */
  variable: string;
  /** The deployment id, for problems found in the fleet config. */
  deployment?: string;
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

/** What a key is checked as: where it came from (for messages) and what base URL it goes to. */
interface KeySubject {
  provider: DeploymentKind;
  variable: string;
  deployment?: string;
  raw: string;
  baseUrl: string | undefined;
}

function problemFor(subject: KeySubject, severity: KeyProblem['severity'], problem: string, fix: string): KeyProblem {
  return {
    provider: subject.provider,
    variable: subject.variable,
    ...(subject.deployment !== undefined ? { deployment: subject.deployment } : {}),
    severity,
    message: `${subject.variable} ${problem} (value not shown, ${subject.raw.length} characters). Fix: ${fix}`,
  };
}

/** The paste mistakes no key of any vendor has; `anywhere` also refuses whitespace inside the key. */
function pasteMistake(subject: KeySubject, anywhere: boolean): KeyProblem | undefined {
  const { raw } = subject;
  if (/^\s|\s$/.test(raw) || /^["'].*["']$/.test(raw)) {
    return problemFor(subject, 'error', 'has surrounding spaces or quotes', 'set the key alone, without quotes or spaces.');
  }
  if (anywhere && /\s/.test(raw)) {
    return problemFor(subject, 'error', 'contains whitespace', 'set the key alone (an Entra token goes without "Bearer ").');
  }
  return undefined;
}

/** A vendor key (OpenRouter, OpenAI, Anthropic, Gemini) against its rule. */
function checkVendorKey(subject: KeySubject, rule: KeyRule): KeyProblem | undefined {
  const { raw } = subject;
  const mistake = pasteMistake(subject, false);
  if (mistake) return mistake;
  if (PLACEHOLDER.test(raw)) return problemFor(subject, 'error', 'holds a placeholder, not a key', `paste a real key from ${rule.where}.`);
  const foreign = FOREIGN_PREFIXES.find(([prefix, owner]) => owner !== rule.provider && prefix.test(raw));
  if (foreign) {
    return problemFor(
      subject,
      'error',
      `holds a key of another provider (${foreign[1]})`,
      `move it to the ${foreign[1].toUpperCase()}_API_KEY variable and set a ${rule.provider} key here.`,
    );
  }
  if (rule.shape.test(raw)) return undefined;
  if (rule.strict) return problemFor(subject, 'error', `is malformed: expected ${rule.describe}`, `copy a fresh key from ${rule.where}.`);
  if (pointsElsewhere(subject.baseUrl, rule.defaultHost)) return undefined;
  return problemFor(
    subject,
    'warning',
    `does not look like a ${rule.provider} key: expected ${rule.describe}`,
    `check it, or copy a fresh key from ${rule.where}.`,
  );
}

/** An Azure key: no shape (classic keys are 32 hex characters, Entra tokens are JWTs); paste mistakes only. */
function checkAzureKey(subject: KeySubject): KeyProblem | undefined {
  const mistake = pasteMistake(subject, true);
  if (mistake) return mistake;
  if (PLACEHOLDER.test(subject.raw)) {
    return problemFor(
      subject,
      'warning',
      'looks like a placeholder',
      'paste a key from the resource (Keys and Endpoint in the Azure portal).',
    );
  }
  // OpenAI's own keys start with sk- too: only the other prefixes are narrower.
  const owner = FOREIGN_PREFIXES.find(([prefix]) => prefix.test(subject.raw))?.[1] ?? (/^sk-/.test(subject.raw) ? 'openai' : undefined);
  if (owner) {
    return problemFor(
      subject,
      'warning',
      `looks like a ${owner} key, not an Azure one`,
      'use a key of the Azure OpenAI resource (Keys and Endpoint in the Azure portal).',
    );
  }
  return undefined;
}

function checkSubject(subject: KeySubject): KeyProblem | undefined {
  if (subject.provider === 'azure-openai') return checkAzureKey(subject);
  // Whatever the operator of a self-hosted or third-party server chose; only whitespace is surely wrong.
  if (subject.provider === 'openai-compatible') return pasteMistake(subject, true);
  const rule = KEY_RULES.find((r) => r.provider === subject.provider);
  return rule ? checkVendorKey(subject, rule) : undefined;
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
    const problem = checkSubject({ provider: rule.provider, variable: rule.variable, raw, baseUrl: env[rule.baseVariable] });
    if (problem) problems.push(problem);
  }
  return problems;
}

/** Problems with the api_key of each deployment of the fleet config, named by field and deployment id. */
export function checkDeploymentKeys(deployments: readonly DeploymentConfig[]): KeyProblem[] {
  const problems: KeyProblem[] = [];
  deployments.forEach((deployment, index) => {
    if (deployment.apiKey === undefined || deployment.apiKey === '') return;
    const problem = checkSubject({
      provider: deployment.provider,
      variable: `deployments[${index}].api_key`,
      deployment: deployment.id,
      raw: deployment.apiKey,
      baseUrl: deployment.baseUrl,
    });
    if (problem) problems.push({ ...problem, message: `deployment "${deployment.id}": ${problem.message}` });
  });
  return problems;
}

/** One line per problem, errors first; for printing at start-up. */
export function formatKeyProblems(problems: KeyProblem[]): string {
  return [...problems]
    .sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1))
    .map((p) => `${p.severity === 'error' ? 'error' : 'warning'}: ${p.message}`)
    .join('\n');
}
