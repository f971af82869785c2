/**
 * Owns what the API makes of `model` under the running fleet config: every face (jobs, batch,
 * chat completions, responses) asks here whether a name can be routed, which model a request
 * without one gets (the config's default route, else DEFAULT_MODEL), and a route's own budget.
 * An unknown name is a 404 with OpenAI's `model_not_found` code, naming what would have worked.
 */
import { deploymentModels, type FleetRuntime, type ModelObject } from '@switchyard/providers';
import type { Config } from '@switchyard/shared';

export interface ModelCheck {
  ok: boolean;
  /** Why not, for the client: the routes and deployments it could have named. */
  message?: string;
}

export class FleetModels {
  constructor(
    private readonly runtime: () => FleetRuntime,
    private readonly config: Pick<Config, 'DEFAULT_MODEL'>,
  ) {}

  /** The model a request that names none gets. */
  get defaultModel(): string {
    return this.runtime().names.defaultName ?? this.config.DEFAULT_MODEL;
  }

  check(name: string): ModelCheck {
    const resolved = this.runtime().names.resolve(name);
    return resolved.kind === 'unknown' ? { ok: false, message: `${resolved.message} See GET /v1/models.` } : { ok: true };
  }

  /** The route's own `budget_ms` when `name` is a route that sets one. */
  routeBudgetMs(name: string): number | undefined {
    return this.runtime().names.route(name)?.budgetMs;
  }

  /** Deployment ids of the running config (the state store's health keys). */
  deployments(): string[] {
    return this.runtime().config.deployments.map((d) => d.id);
  }

  /** GET /v1/models: the routes, then each deployment's known models as `<deployment>/<model>`. */
  list(): ModelObject[] {
    const runtime = this.runtime();
    const routes = runtime.config.routes.map(
      (route): ModelObject => ({ id: route.name, object: 'model', created: 0, owned_by: 'switchyard' }),
    );
    const data = [...routes, ...deploymentModels(runtime)];
    const fallback = this.defaultModel;
    if (!data.some((m) => m.id === fallback))
      data.unshift({ id: fallback, object: 'model', created: 0, owned_by: fallback.split('/')[0] ?? 'switchyard' });
    return data;
  }
}
