/**
 * Owns the fleet config's hash: 12 hex characters of sha256 over a canonical serialization of
 * what a process runs on (deployments, routes, default route), so two replicas agree on it when
 * they run the same config, however the file spelled it (key order, quoting, white space,
 * comments). A key counts only through its own digest: a rotated key changes the hash, and the
 * hash, which /v1/config and /v1/workers show, says nothing about the key.
 */
import { createHash } from 'node:crypto';
import type { FleetConfig } from './types.ts';

export type FleetConfigBody = Pick<FleetConfig, 'deployments' | 'routes' | 'defaultRoute'> & Partial<Pick<FleetConfig, 'clients'>>;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** JSON with object keys sorted and undefined fields left out. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const fields = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`);
    return `{${fields.join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export function fleetConfigHash(config: FleetConfigBody): string {
  const body = {
    deployments: config.deployments.map((d) => ({
      ...d,
      apiKey: d.apiKey === undefined ? undefined : sha256(`switchyard api_key\u0000${d.apiKey}`),
    })),
    routes: config.routes,
    defaultRoute: config.defaultRoute,
    // Absent when there are none, so a config without clients keeps the hash it always had.
    clients: config.clients?.length ? config.clients.map((c) => ({ ...c, key: sha256(`switchyard client key\u0000${c.key}`) })) : undefined,
  };
  return sha256(canonical(body)).slice(0, 12);
}
