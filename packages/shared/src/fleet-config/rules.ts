/**
 * Owns the fleet config's rules across fields and entries: what each deployment kind requires
 * (base_url, api_key, api_version, an OpenRouter key's shape), unique ids and route names, every
 * reference (a target's deployment, fallbacks, default_route) and fallback loops between routes.
 * It reads the file as parsed, not the schema's output, so a mistake in one field does not hide
 * the problems of another: every problem is found in one pass.
 */
import { OPENROUTER_KEY_SHAPE } from '../secrets.ts';
import type { ConfigPath } from './problems.ts';
import { DEPLOYMENT_KINDS, type DeploymentKind } from './types.ts';

type Entry = Record<string, unknown>;
type Report = (path: ConfigPath, message: string) => void;

const NEEDS_BASE_URL: Partial<Record<DeploymentKind, string>> = {
  'openai-compatible': "the server's OpenAI-compatible root, e.g. http://gpu-box:8000/v1",
  'azure-openai': 'the resource endpoint, e.g. https://my-resource.openai.azure.com',
};
const NEEDS_API_KEY: readonly DeploymentKind[] = ['openai', 'azure-openai', 'openrouter', 'anthropic', 'gemini'];

/** The mappings of a list, with their index; anything else in the list is the schema's problem. */
function entries(list: unknown): [Entry, number][] {
  if (!Array.isArray(list)) return [];
  return list.flatMap((item, i): [Entry, number][] =>
    item !== null && typeof item === 'object' && !Array.isArray(item) ? [[item as Entry, i]] : [],
  );
}

const str = (value: unknown) => (typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined);
const known = (names: Iterable<string>) => {
  const all = [...names];
  return all.length > 0 ? all.join(', ') : 'none';
};

export function checkRules(file: Entry, report: Report): void {
  const deployments = entries(file.deployments);
  const routes = entries(file.routes);
  const ids = firstIndex(deployments, 'id', 'deployments', report, 'deployment id');
  const names = firstIndex(routes, 'name', 'routes', report, 'route name');
  checkClients(entries(file.clients), report);
  for (const [deployment, i] of deployments) checkKind(deployment, ['deployments', i], report);

  const resolve = (ref: string): string | undefined => {
    if (names.has(ref)) return undefined;
    const slash = ref.indexOf('/');
    if (slash > 0 && slash < ref.length - 1) {
      const deployment = ref.slice(0, slash);
      if (ids.has(deployment)) return undefined;
      return `"${ref}" names unknown deployment "${deployment}" (known: ${known(ids.keys())})`;
    }
    return `unknown route "${ref}" (routes: ${known(names.keys())}). Fix: name a route, or <deployment>/<model> with a deployment id (known: ${known(ids.keys())})`;
  };

  for (const [route, r] of routes) {
    const name = str(route.name);
    if (name !== undefined && ids.has(name)) {
      report(
        ['routes', r, 'name'],
        `"${name}" is also a deployment id, which makes "${name}" ambiguous. Fix: rename the route or the deployment.`,
      );
    }
    for (const [target, t] of entries(route.targets)) {
      const deployment = str(target.deployment);
      if (deployment !== undefined && !ids.has(deployment)) {
        report(['routes', r, 'targets', t, 'deployment'], `unknown deployment "${deployment}" (known: ${known(ids.keys())})`);
      }
    }
    (Array.isArray(route.fallbacks) ? route.fallbacks : []).forEach((fallback, f) => {
      const ref = str(fallback);
      const problem = ref === undefined ? undefined : resolve(ref);
      if (problem) report(['routes', r, 'fallbacks', f], problem);
    });
  }
  const defaultRoute = str(file.default_route);
  const problem = defaultRoute === undefined ? undefined : resolve(defaultRoute);
  if (problem) report(['default_route'], problem);
  checkLoops(routes, names, report);
}

/** Client names are unique, and so are keys: a key must name one client (the message never shows it). */
function checkClients(clients: [Entry, number][], report: Report): void {
  firstIndex(clients, 'name', 'clients', report, 'client name');
  const byKey = new Map<string, number>();
  for (const [client, i] of clients) {
    const key = str(client.key);
    if (key === undefined) continue;
    const earlier = byKey.get(key);
    if (earlier === undefined) byKey.set(key, i);
    else
      report(
        ['clients', i, 'key'],
        `is the same key as clients[${earlier}].key (value not shown). Fix: give each client a key of its own.`,
      );
  }
}

/** Each value of `key` to the index of its first entry; a repeat is reported where it occurs. */
function firstIndex(list: [Entry, number][], key: string, under: string, report: Report, what: string): Map<string, number> {
  const first = new Map<string, number>();
  for (const [entry, i] of list) {
    const value = str(entry[key]);
    if (value === undefined) continue;
    const earlier = first.get(value);
    if (earlier === undefined) first.set(value, i);
    else report([under, i, key], `duplicate ${what} "${value}" (also ${under}[${earlier}].${key}). Fix: make each ${key} unique.`);
  }
  return first;
}

function checkKind(deployment: Entry, path: ConfigPath, report: Report): void {
  const kind = deployment.provider;
  if (typeof kind !== 'string' || !(DEPLOYMENT_KINDS as readonly string[]).includes(kind)) return;
  const baseUrl = NEEDS_BASE_URL[kind as DeploymentKind];
  if (baseUrl && deployment.base_url === undefined) report([...path, 'base_url'], `is required for provider ${kind}: ${baseUrl}.`);
  if (kind === 'azure-openai' && deployment.api_version === undefined) {
    report([...path, 'api_version'], 'is required for provider azure-openai, e.g. api_version: "2024-10-21".');
  }
  if (kind !== 'azure-openai' && deployment.api_version !== undefined) {
    report([...path, 'api_version'], `only azure-openai deployments take an api_version, this one is ${kind}. Fix: remove it.`);
  }
  const key = deployment.api_key;
  if (key === undefined && NEEDS_API_KEY.includes(kind as DeploymentKind)) {
    report(
      [...path, 'api_key'],
      `is required for provider ${kind}. Fix: api_key: \${SOME_API_KEY}, with the key in that environment variable.`,
    );
  }
  // The schema reports a key that is not text or holds spaces; the shape is checked only past that.
  if (kind === 'openrouter' && typeof key === 'string' && /^\S+$/.test(key.trim()) && !OPENROUTER_KEY_SHAPE.test(key.trim())) {
    report(
      [...path, 'api_key'],
      `is malformed: expected "sk-or-v1-" followed by 64 hex characters (value not shown, ${key.trim().length} characters). Fix: copy a fresh key from https://openrouter.ai/settings/keys.`,
    );
  }
}

/** Reports each cycle of route -> route fallbacks once, at the fallback that starts it. */
function checkLoops(routes: [Entry, number][], names: Map<string, number>, report: Report): void {
  const edges = new Map<string, { to: string; index: number }[]>();
  for (const [route, r] of routes) {
    const name = str(route.name);
    if (name === undefined || names.get(name) !== r) continue;
    const fallbacks = Array.isArray(route.fallbacks) ? route.fallbacks : [];
    edges.set(
      name,
      fallbacks.flatMap((f, index) => {
        const to = str(f);
        return to !== undefined && names.has(to) ? [{ to, index }] : [];
      }),
    );
  }
  const seen = new Set<string>();
  const done = new Set<string>();
  const stack: string[] = [];
  const visit = (name: string) => {
    stack.push(name);
    for (const { to } of edges.get(name) ?? []) {
      const at = stack.indexOf(to);
      if (at >= 0) reportCycle(stack.slice(at));
      else if (!done.has(to)) visit(to);
    }
    stack.pop();
    done.add(name);
  };
  const reportCycle = (cycle: string[]) => {
    // Start at the route listed first in the file, so a cycle has one spelling whichever way it is met.
    const start = cycle.reduce((best, n, i) => ((names.get(n) ?? 0) < (names.get(cycle[best] as string) ?? 0) ? i : best), 0);
    const ordered = [...cycle.slice(start), ...cycle.slice(0, start)];
    const key = ordered.join('\u0000');
    if (seen.has(key)) return;
    seen.add(key);
    const [from, next] = [ordered[0] as string, (ordered[1] ?? ordered[0]) as string];
    const index = edges.get(from)?.find((e) => e.to === next)?.index ?? 0;
    report(
      ['routes', names.get(from) ?? 0, 'fallbacks', index],
      `fallback loop ${[...ordered, from].join(' -> ')}. Fix: remove one of these fallbacks (a route's own targets come before its fallbacks).`,
    );
  };
  for (const name of edges.keys()) if (!done.has(name)) visit(name);
}
