/**
 * Owns what a request's `model` names under a fleet config (CONTRACT.md, "Routes and
 * deployments"): a route name first, then `<deployment id>/<model>`. Without a config file the
 * implicit deployments are named after their providers, so `provider/model` is the same rule.
 * Anything else is unknown: the API answers 404 `model_not_found`, naming what would have worked.
 */
import type { DeploymentConfig, FleetConfig, RouteConfig } from './types.ts';

export type ResolvedModelName =
  | { kind: 'route'; route: RouteConfig }
  | { kind: 'target'; deployment: DeploymentConfig; model: string }
  | { kind: 'unknown'; message: string };

/** Lookup tables built once per config (the hot path resolves every job's model). */
export class ModelNames {
  private readonly routes = new Map<string, RouteConfig>();
  private readonly deployments = new Map<string, DeploymentConfig>();

  constructor(readonly config: FleetConfig) {
    for (const route of config.routes) this.routes.set(route.name, route);
    for (const deployment of config.deployments) this.deployments.set(deployment.id, deployment);
  }

  resolve(name: string): ResolvedModelName {
    const route = this.routes.get(name);
    if (route) return { kind: 'route', route };
    const slash = name.indexOf('/');
    if (slash > 0 && slash < name.length - 1) {
      const deployment = this.deployments.get(name.slice(0, slash));
      if (deployment) return { kind: 'target', deployment, model: name.slice(slash + 1) };
    }
    return { kind: 'unknown', message: this.unknownMessage(name) };
  }

  /** The name a request without `model` gets: the config's default route, if any. */
  get defaultName(): string | undefined {
    return this.config.defaultRoute;
  }

  route(name: string): RouteConfig | undefined {
    return this.routes.get(name);
  }

  deployment(id: string): DeploymentConfig | undefined {
    return this.deployments.get(id);
  }

  private unknownMessage(name: string): string {
    const routes = [...this.routes.keys()];
    const ids = [...this.deployments.keys()];
    const known = [
      routes.length > 0 ? `routes: ${list(routes)}` : '',
      ids.length > 0 ? `or "<deployment>/<model>" with a deployment of: ${list(ids)}` : '',
    ]
      .filter(Boolean)
      .join('; ');
    return `The model \`${name}\` does not exist: it is neither a route nor "<deployment>/<model>" of a configured deployment (${known || 'nothing is configured'}).`;
  }
}

function list(names: string[]): string {
  return names.length > 12 ? `${names.slice(0, 12).join(', ')}, … (${names.length} in all)` : names.join(', ');
}
