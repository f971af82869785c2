/**
 * Owns the vocabulary of the fleet config (CONTRACT.md, "Routes and deployments"): deployments
 * (one endpoint with one key, the unit of health), routes (the names clients send as `model`) and
 * the resolved, validated shape every API and worker process runs on. No behaviour lives here.
 */

/** Every kind of endpoint a deployment may be; each has an adapter folder in @switchyard/providers. */
export const DEPLOYMENT_KINDS = [
  'openai',
  'azure-openai',
  'openai-compatible',
  'openrouter',
  'anthropic',
  'gemini',
  'ollama',
  'mock',
] as const;
export type DeploymentKind = (typeof DEPLOYMENT_KINDS)[number];

export const ROUTE_STRATEGIES = ['ordered', 'weighted', 'least-busy', 'latency'] as const;
export type RouteStrategy = (typeof ROUTE_STRATEGIES)[number];

/** Dollars per million tokens: what a call's usage costs (usage/cost.ts). */
export interface Price {
  inputPerMtok: number;
  outputPerMtok: number;
}

export interface DeploymentConfig {
  /** `[a-z0-9][a-z0-9._-]*`, unique: the key of its breaker, cooldown, state, gates and metrics. */
  id: string;
  provider: DeploymentKind;
  /** Without trailing slash. Absent: the vendor's public default (required for openai-compatible, azure-openai). */
  baseUrl?: string;
  /** Resolved from `${VAR}`; never logged, never returned by /v1/config. */
  apiKey?: string;
  /** azure-openai only, e.g. "2024-10-21". */
  apiVersion?: string;
  /** In-flight cap per worker process; absent: PROVIDER_CONCURRENCY(_DEFAULT). */
  maxConcurrency?: number;
  price?: Price;
}

export interface RouteTarget {
  deployment: string;
  /** The model id as the deployment knows it (for Azure: the deployment name in its URL). */
  model: string;
  /** Relative share under `weighted`; default 1. */
  weight: number;
  price?: Price;
}

export interface RouteConfig {
  name: string;
  strategy: RouteStrategy;
  targets: RouteTarget[];
  /** Other route names or `<deployment>/<model>` refs, tried after this route's targets. */
  fallbacks: string[];
  budgetMs?: number;
  hedgeDelayMs?: number;
  hedgeStaggerMs?: number;
}

/** A named client: its key authenticates like one of API_KEYS; its usage is counted and its spend capped under its name. */
export interface ClientConfig {
  /** `[a-z0-9][a-z0-9._-]*`, unique: how usage, spend and budgets name the client. */
  name: string;
  /** Resolved from `${VAR}`; registered as a secret, never logged or shown. */
  key: string;
  /** Spend caps in dollars per UTC day and per UTC month; absent: no cap. */
  dailyUsd?: number;
  monthlyUsd?: number;
}

export interface FleetConfig {
  deployments: DeploymentConfig[];
  routes: RouteConfig[];
  /** Named clients (keys, budgets); empty when the file names none. */
  clients: ClientConfig[];
  /** Route (or deployment/model ref) for requests that name no model. */
  defaultRoute?: string;
  /** Short content hash of the effective config (secrets included in the digest, never shown). */
  hash: string;
  /** `file`: read from SWITCHYARD_CONFIG; `environment`: implicit deployments named after the providers. */
  source: 'file' | 'environment';
  path?: string;
}
