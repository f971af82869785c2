/**
 * Owns the shape of the fleet config file: its snake_case keys, each field's type and range, and
 * the mapping to the camelCase types of types.ts. Objects are strict: an unknown key is a problem.
 * Rules that span fields or entries (a kind's required fields, references, loops) are in rules.ts.
 * Numbers may be written as strings, so `${VAR}` works for them too.
 */
import { z } from 'zod';
import { redactUrl, registerSecret } from '../secrets.ts';
import { didYouMean } from './problems.ts';
import {
  type ClientConfig,
  DEPLOYMENT_KINDS,
  type DeploymentConfig,
  type DeploymentKind,
  type Price,
  ROUTE_STRATEGIES,
  type RouteConfig,
  type RouteStrategy,
  type RouteTarget,
} from './types.ts';

export const ID_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;
const ID_MAX = 64;

/** Same ranges as the environment variables they override (config.ts). */
export const RANGES = {
  max_concurrency: [1, 100_000],
  budget_ms: [100, 600_000],
  hedge_delay_ms: [0, 600_000],
  hedge_stagger_ms: [0, 600_000],
} as const;

class Bad extends Error {}
const bad = (message: string): never => {
  throw new Bad(message);
};

/** A field checked by `check`, which throws (bad) with a message naming the problem and the fix. */
function field<T>(check: (raw: unknown) => T) {
  return z.unknown().transform((raw, ctx): T => {
    try {
      return check(raw);
    } catch (err) {
      if (!(err instanceof Bad)) throw err;
      ctx.addIssue({ code: 'custom', message: err.message });
      return z.NEVER;
    }
  });
}

const required = <T>(missing: string, check: (raw: unknown) => T) => field((raw) => (raw === undefined ? bad(missing) : check(raw)));

export function describe(raw: unknown): string {
  if (raw === null) return 'nothing';
  if (Array.isArray(raw)) return 'a list';
  if (typeof raw === 'object') return 'a mapping';
  if (typeof raw === 'string') return `"${raw.length > 60 ? `${raw.slice(0, 57)}...` : raw}"`;
  return String(raw);
}

const text = (what: string) => (raw: unknown) =>
  typeof raw === 'string' && raw.trim() !== '' ? raw.trim() : bad(`must be ${what}, got ${describe(raw)}`);

const id = (raw: unknown) => {
  const value = text('an id such as "openai-main"')(raw);
  if (!ID_PATTERN.test(value) || value.length > ID_MAX) {
    bad(
      `"${value}" is not a valid id: use up to ${ID_MAX} lower-case letters, digits, ".", "_" or "-", starting with a letter or digit. Fix: e.g. "openai-main".`,
    );
  }
  return value;
};

const routeName = (raw: unknown) => {
  const value = text('a route name such as "gpt-4o"')(raw);
  if (/\s/.test(value) || value.length > 128)
    bad(`"${value}" is not a valid route name: up to 128 characters without spaces. Fix: e.g. "gpt-4o".`);
  return value;
};

const oneOf =
  <T extends string>(options: readonly T[], what: string) =>
  (raw: unknown): T => {
    if (typeof raw === 'string' && (options as readonly string[]).includes(raw)) return raw as T;
    const hint = typeof raw === 'string' ? didYouMean(raw, options) : '';
    return bad(`unknown ${what} ${describe(raw)}${hint}. Fix: use one of ${options.join(', ')}.`);
  };

const number = (raw: unknown): number | undefined => {
  if (typeof raw === 'number') return raw;
  if (typeof raw === 'string' && raw.trim() !== '' && Number.isFinite(Number(raw))) return Number(raw);
  return undefined;
};

const wholeNumber =
  ([min, max]: readonly [number, number], example: number) =>
  (raw: unknown) => {
    const value = number(raw);
    if (value === undefined || !Number.isInteger(value) || value < min || value > max) {
      bad(`must be a whole number from ${min} to ${max}, got ${describe(raw)}. Fix: e.g. ${example}.`);
    }
    return value as number;
  };

const weight = (raw: unknown) => {
  const value = number(raw);
  if (value === undefined || !Number.isFinite(value) || value <= 0) {
    bad(`must be a positive number (a relative share), got ${describe(raw)}. Fix: e.g. weight: 3 next to weight: 1.`);
  }
  return value as number;
};

const dollars = (raw: unknown) => {
  const value = number(raw);
  if (value === undefined || !Number.isFinite(value) || value < 0) {
    bad(`must be a number of dollars per million tokens, 0 or more, got ${describe(raw)}. Fix: e.g. 2.5.`);
  }
  return value as number;
};

const usdLimit = (raw: unknown) => {
  const value = number(raw);
  if (value === undefined || !Number.isFinite(value) || value <= 0) {
    bad(`must be a positive number of dollars, got ${describe(raw)}. Fix: e.g. daily_usd: 50 (leave it out for no cap).`);
  }
  return value as number;
};

const httpUrl = (raw: unknown) => {
  const value = text('an http(s) URL')(raw);
  let protocol = '';
  try {
    protocol = new URL(value).protocol;
  } catch {}
  if (protocol !== 'http:' && protocol !== 'https:') {
    bad(`must be an http(s) URL, got "${redactUrl(value)}". Fix: e.g. https://api.openai.com/v1 or http://gpu-box:8000/v1.`);
  }
  return value.replace(/\/+$/, '');
};

/** Never echoed: a message says what is wrong with the key, not what it is. */
const secret = (raw: unknown, field = 'api_key') => {
  if (typeof raw !== 'string' || raw.trim() === '') {
    return bad(`must be a key (text), got ${typeof raw === 'string' ? 'an empty string' : typeof raw}. Fix: ${field}: \${SOME_KEY}.`);
  }
  const value = raw.trim();
  registerSecret(value);
  if (/\s/.test(value)) bad('contains white space (value not shown). Fix: the key alone, without quotes or spaces.');
  return value;
};

const apiVersion = (raw: unknown) => {
  const value = text('an Azure OpenAI API version such as "2024-10-21"')(raw);
  if (!/^\d{4}-\d{2}-\d{2}(-preview)?$/.test(value)) {
    bad(`must be an Azure OpenAI API version such as "2024-10-21" or "2025-01-01-preview", got "${value}".`);
  }
  return value;
};

const list = <T extends z.ZodType>(item: T, what: string) =>
  z.array(item, {
    error: (issue) => (issue.input === undefined ? `is required: ${what}` : `must be a list of ${what}, got ${describe(issue.input)}`),
  });

const priceSchema = z
  .strictObject(
    {
      input_per_mtok: required('is required: dollars per million input tokens, e.g. 2.5', dollars),
      output_per_mtok: required('is required: dollars per million output tokens, e.g. 10', dollars),
    },
    { error: (issue) => `must be a mapping { input_per_mtok, output_per_mtok }, got ${describe(issue.input)}` },
  )
  .transform((p): Price => ({ inputPerMtok: p.input_per_mtok, outputPerMtok: p.output_per_mtok }));

const mapping = (what: string) => ({ error: (issue: { input?: unknown }) => `must be a mapping (${what}), got ${describe(issue.input)}` });

/** Drops absent optional fields, so the result (and its hash) is the same whether a field was left out or not. */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

const deploymentSchema = z
  .strictObject(
    {
      id: required('is required: every deployment has an id, e.g. id: openai-main', id),
      provider: required(`is required: one of ${DEPLOYMENT_KINDS.join(', ')}`, oneOf(DEPLOYMENT_KINDS, 'provider')),
      base_url: field(httpUrl).optional(),
      api_key: field((raw) => secret(raw)).optional(),
      api_version: field(apiVersion).optional(),
      max_concurrency: field(wholeNumber(RANGES.max_concurrency, 32)).optional(),
      price: priceSchema.optional(),
    },
    mapping('a deployment: id, provider, base_url, api_key, ...'),
  )
  .transform(
    (d): DeploymentConfig =>
      compact({
        id: d.id,
        provider: d.provider as DeploymentKind,
        baseUrl: d.base_url,
        apiKey: d.api_key,
        apiVersion: d.api_version,
        maxConcurrency: d.max_concurrency,
        price: d.price,
      }),
  );

const targetSchema = z
  .strictObject(
    {
      deployment: required('is required: the id of a deployment', text('a deployment id')),
      model: required('is required: the model as the deployment knows it, e.g. gpt-4o', text('a model name')),
      weight: field(weight).optional(),
      price: priceSchema.optional(),
    },
    mapping('a target: deployment, model, weight'),
  )
  .transform((t): RouteTarget => compact({ deployment: t.deployment, model: t.model, weight: t.weight ?? 1, price: t.price }));

const routeSchema = z
  .strictObject(
    {
      name: required('is required: what clients send as `model`, e.g. name: gpt-4o', routeName),
      strategy: field(oneOf(ROUTE_STRATEGIES, 'strategy')).optional(),
      targets: list(targetSchema, 'targets, each { deployment, model }').min(1, {
        error: 'a route needs at least one target. Fix: targets: [{ deployment: <id>, model: <model> }]',
      }),
      fallbacks: list(field(text('a route name or <deployment>/<model>')), 'route names or <deployment>/<model> refs').optional(),
      budget_ms: field(wholeNumber(RANGES.budget_ms, 20_000)).optional(),
      hedge_delay_ms: field(wholeNumber(RANGES.hedge_delay_ms, 1200)).optional(),
      hedge_stagger_ms: field(wholeNumber(RANGES.hedge_stagger_ms, 400)).optional(),
    },
    mapping('a route: name, strategy, targets, fallbacks, ...'),
  )
  .transform(
    (r): RouteConfig =>
      compact({
        name: r.name,
        strategy: (r.strategy ?? 'ordered') as RouteStrategy,
        targets: r.targets,
        fallbacks: r.fallbacks ?? [],
        budgetMs: r.budget_ms,
        hedgeDelayMs: r.hedge_delay_ms,
        hedgeStaggerMs: r.hedge_stagger_ms,
      }),
  );

const clientSchema = z
  .strictObject(
    {
      name: required('is required: how usage and budgets name the client, e.g. name: team-a', id),
      key: required(`is required: the client's API key, e.g. key: "\${TEAM_A_KEY}"`, (raw) => secret(raw, 'key')),
      daily_usd: field(usdLimit).optional(),
      monthly_usd: field(usdLimit).optional(),
    },
    mapping('a client: name, key, daily_usd, monthly_usd'),
  )
  .transform((c): ClientConfig => compact({ name: c.name, key: c.key, dailyUsd: c.daily_usd, monthlyUsd: c.monthly_usd }));

export const fleetFileSchema = z.strictObject(
  {
    deployments: list(deploymentSchema, 'deployments, each { id, provider, ... }').min(1, {
      error: `at least one deployment is required. Fix: deployments: [{ id: openai-main, provider: openai, api_key: \${OPENAI_API_KEY} }]`,
    }),
    routes: list(routeSchema, 'routes, each { name, targets }').optional(),
    default_route: field(text('a route name or <deployment>/<model>')).optional(),
    clients: list(clientSchema, 'clients, each { name, key }').optional(),
  },
  mapping('deployments, routes, default_route, clients'),
);

/** Known keys of each kind of mapping, by the key its list sits under ('' for the top). */
export const KNOWN_KEYS: Record<string, readonly string[]> = {
  '': Object.keys(fleetFileSchema.shape),
  deployments: Object.keys(deploymentSchema.in.shape),
  routes: Object.keys(routeSchema.in.shape),
  targets: Object.keys(targetSchema.in.shape),
  price: Object.keys(priceSchema.in.shape),
  clients: Object.keys(clientSchema.in.shape),
};

/** Top-level keys kept for what is planned; using one says so instead of "unknown key". */
export const RESERVED_KEYS: Record<string, string> = {};
