/**
 * Owns turning the text of a fleet config file into the FleetConfig a process runs on, or into
 * one FleetConfigError listing every problem by its path: YAML syntax, then `${VAR}`, the
 * schema (schema.ts) and the rules across fields (rules.ts), all reported together. No message
 * carries a key: keys are registered as secrets before any message is built, and every message
 * is scrubbed.
 */
import { LineCounter, parseDocument } from 'yaml';
import { type Config, ConfigError } from '../config.ts';
import { redactSecrets } from '../secrets.ts';
import { fleetConfigHash } from './hash.ts';
import { interpolateEnv } from './interpolate.ts';
import { didYouMean, formatProblems, type Problem } from './problems.ts';
import { checkRules } from './rules.ts';
import { describe, fleetFileSchema, KNOWN_KEYS, RESERVED_KEYS } from './schema.ts';
import type { FleetConfig } from './types.ts';

/** A ConfigError whose message names the file; `problems` are `path: problem` lines. */
export class FleetConfigError extends ConfigError {
  constructor(
    problems: string[],
    readonly file?: string,
  ) {
    super(problems);
    this.message = `Invalid fleet config${file ? ` ${file}` : ''} (SWITCHYARD_CONFIG):\n${problems.map((p) => `  - ${p}`).join('\n')}`;
  }
}

export interface ParseOptions {
  /** Where `${VAR}` is read from. */
  env: NodeJS.ProcessEnv;
  /** The file's path, kept in the result and named in errors. */
  path?: string;
  /** The environment's config: DEFAULT_MODEL becomes the default route when the file names none and it resolves. */
  base: Config;
}

export function parseFleetConfig(text: string, options: ParseOptions): FleetConfig {
  const fail = (problems: Problem[]) => new FleetConfigError(formatProblems(problems).map(redactSecrets), options.path);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, merge: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // Positions, not prettyErrors' excerpts: an excerpt of the file could hold a key.
    throw fail(
      doc.errors.map((err) => {
        const { line, col } = lines.linePos(err.pos[0]);
        return { path: [], message: `line ${line}, column ${col}: ${err.message} (YAML syntax)` };
      }),
    );
  }
  let tree: unknown;
  try {
    tree = dropNulls(doc.toJS({ maxAliasCount: 1000 }));
  } catch (err) {
    // e.g. "Excessive alias count" (a billion-laughs file), or a merge key on something not a mapping.
    throw fail([{ path: [], message: `${(err as Error).message} (YAML)` }]);
  }
  if (tree === undefined || tree === null) {
    throw fail([{ path: [], message: 'the file is empty. Fix: list deployments (and routes), see CONTRACT.md "Routes and deployments".' }]);
  }
  if (typeof tree !== 'object' || Array.isArray(tree)) {
    throw fail([{ path: [], message: `the file must be a mapping of deployments, routes and default_route, got ${describe(tree)}.` }]);
  }

  const interpolated = interpolateEnv(tree, options.env);
  const file = interpolated.value as Record<string, unknown>;
  const found: Problem[] = [];
  const parsed = fleetFileSchema.safeParse(file);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code !== 'unrecognized_keys') found.push({ path: issue.path as Problem['path'], message: issue.message });
      else for (const key of issue.keys) found.push(unknownKey(issue.path as Problem['path'], key));
    }
  }
  checkRules(file, (path, message) => found.push({ path, message }));
  const problems = [...interpolated.problems, ...found.filter((p) => !interpolated.failed.has(JSON.stringify(p.path)))];
  if (problems.length > 0 || !parsed.success) throw fail(problems);

  const { deployments, routes = [], default_route, clients = [] } = parsed.data;
  const body = { deployments, routes, clients, defaultRoute: default_route ?? fallbackDefault(options.base, deployments, routes) };
  return { ...body, hash: fleetConfigHash(body), source: 'file', ...(options.path ? { path: options.path } : {}) };
}

function unknownKey(path: Problem['path'], key: string): Problem {
  const reserved = path.length === 0 ? RESERVED_KEYS[key] : undefined;
  if (reserved) return { path: [key], message: reserved };
  const under = [...path].reverse().find((part): part is string => typeof part === 'string') ?? '';
  const known = KNOWN_KEYS[under] ?? [];
  return { path: [...path, key], message: `unknown key${didYouMean(key, known)}. Known keys here: ${known.join(', ')}.` };
}

/** `key:` with nothing after it means the key is absent, as it does for most YAML-configured tools. */
function dropNulls(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(dropNulls);
  if (node !== null && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).flatMap(([k, v]) => (v === null ? [] : [[k, dropNulls(v)]])));
  }
  return node;
}

/** The environment's DEFAULT_MODEL if the file resolves it (e.g. `mock/echo` with a `mock` deployment), else the first route. */
function fallbackDefault(base: Config, deployments: FleetConfig['deployments'], routes: FleetConfig['routes']): string | undefined {
  const model = base.DEFAULT_MODEL;
  const slash = model.indexOf('/');
  if (routes.some((r) => r.name === model) || (slash > 0 && deployments.some((d) => d.id === model.slice(0, slash)))) return model;
  return routes[0]?.name;
}
