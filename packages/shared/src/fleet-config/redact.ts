/**
 * Owns the fleet config as `GET /v1/config` shows it: the file's own snake_case shape, with its
 * `hash` and `source`, every api_key replaced by a marker, and credentials in a base_url masked.
 * Built field by field from the types, so a field added later is not shown until it is added here.
 */
import { REDACTED, redactSecrets, redactUrl } from '../secrets.ts';
import type { FleetConfig, Price } from './types.ts';

export interface RedactedPrice {
  input_per_mtok: number;
  output_per_mtok: number;
}

export interface RedactedDeployment {
  id: string;
  provider: string;
  base_url: string | null;
  /** `"[REDACTED]"` when the deployment has a key, null when it has none. */
  api_key: typeof REDACTED | null;
  api_version?: string;
  max_concurrency?: number;
  price?: RedactedPrice;
}

export interface RedactedRoute {
  name: string;
  strategy: string;
  targets: { deployment: string; model: string; weight: number; price?: RedactedPrice }[];
  fallbacks: string[];
  budget_ms?: number;
  hedge_delay_ms?: number;
  hedge_stagger_ms?: number;
}

export interface RedactedClient {
  name: string;
  key: typeof REDACTED;
  daily_usd?: number;
  monthly_usd?: number;
}

export interface RedactedFleetConfig {
  hash: string;
  source: FleetConfig['source'];
  path?: string;
  deployments: RedactedDeployment[];
  routes: RedactedRoute[];
  default_route: string | null;
  clients: RedactedClient[];
}

const price = (p: Price | undefined) => (p ? { price: { input_per_mtok: p.inputPerMtok, output_per_mtok: p.outputPerMtok } } : {});
const present = <K extends string, V>(key: K, value: V | undefined) => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));

export function redactFleetConfig(config: FleetConfig): RedactedFleetConfig {
  return {
    hash: config.hash,
    source: config.source,
    ...present('path', config.path),
    deployments: config.deployments.map((d) => ({
      id: d.id,
      provider: d.provider,
      base_url: d.baseUrl === undefined ? null : redactSecrets(redactUrl(d.baseUrl)).replace(/\/+$/, ''),
      api_key: d.apiKey === undefined ? null : REDACTED,
      ...present('api_version', d.apiVersion),
      ...present('max_concurrency', d.maxConcurrency),
      ...price(d.price),
    })),
    routes: config.routes.map((r) => ({
      name: r.name,
      strategy: r.strategy,
      targets: r.targets.map((t) => ({ deployment: t.deployment, model: t.model, weight: t.weight, ...price(t.price) })),
      fallbacks: [...r.fallbacks],
      ...present('budget_ms', r.budgetMs),
      ...present('hedge_delay_ms', r.hedgeDelayMs),
      ...present('hedge_stagger_ms', r.hedgeStaggerMs),
    })),
    default_route: config.defaultRoute ?? null,
    clients: config.clients.map((c) => ({
      name: c.name,
      key: REDACTED,
      ...present('daily_usd', c.dailyUsd),
      ...present('monthly_usd', c.monthlyUsd),
    })),
  };
}
