/**
 * Owns the fleet config of a process started without SWITCHYARD_CONFIG: one deployment per
 * provider the environment enables, named after the provider (`openai`, `mock`), so
 * `provider/model` names a deployment and everything works as it did before routes existed.
 */
import type { Config } from '../config.ts';
import { fleetConfigHash } from './hash.ts';
import type { DeploymentConfig, FleetConfig } from './types.ts';

export function implicitFleetConfig(config: Config): FleetConfig {
  const deployments = config.providers.map((p): DeploymentConfig => {
    const deployment: DeploymentConfig = { id: p.name, provider: p.name };
    if (p.baseUrl !== undefined) deployment.baseUrl = p.baseUrl;
    if (p.apiKey !== undefined) deployment.apiKey = p.apiKey;
    const cap = config.PROVIDER_CONCURRENCY[p.name];
    if (cap !== undefined) deployment.maxConcurrency = cap;
    return deployment;
  });
  const body = { deployments, routes: [], clients: [], defaultRoute: config.DEFAULT_MODEL };
  return { ...body, hash: fleetConfigHash(body), source: 'environment' };
}
