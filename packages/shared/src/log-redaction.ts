/**
 * Owns path redaction of log lines: the fields REDACT_PATHS names are censored before a line (or a
 * child logger's bindings) is serialized. pino's own `redact` option re-parses every path and
 * clones part of the object on every line: ~11 % of a worker's per-job CPU in
 * bench/tools/router-cost.ts's profile, for lines that almost never hold such a field. Here the
 * paths are parsed once into a tree, a line's keys are looked up in it, and an object is copied
 * only when something in it is censored. Every serialized line is still scrubbed of anything
 * secret-shaped afterwards (logger.ts).
 */
import { REDACTED } from './secrets.ts';

/** pino-style paths: `name`, `*.name` (under any top-level key), `a.b`, `a["b-c"]`. */
export const REDACT_PATHS = [
  'apiKey',
  'api_key',
  'key',
  'authorization',
  'password',
  'secret',
  'token',
  '*.apiKey',
  '*.api_key',
  '*.authorization',
  '*.password',
  '*.secret',
  '*.token',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers["x-goog-api-key"]',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["x-goog-api-key"]',
  'req.headers.cookie',
];

interface PathNode {
  /** The value at this node is replaced by the censor. */
  censor: boolean;
  /** Named children, each already merged with `any` (a wildcard applies to named keys too). */
  children: Map<string, PathNode>;
  /** What applies under a key that has no named child (`*`). */
  any: PathNode | undefined;
}

const emptyNode = (): PathNode => ({ censor: false, children: new Map(), any: undefined });

/** `req.headers["x-api-key"]` -> ['req', 'headers', 'x-api-key']. */
export function parseRedactPath(path: string): string[] {
  const parts: string[] = [];
  const pattern = /([^.[\]]+)|\["([^"]*)"\]|\['([^']*)'\]/g;
  for (let match = pattern.exec(path); match; match = pattern.exec(path)) {
    parts.push((match[1] ?? match[2] ?? match[3]) as string);
  }
  return parts;
}

function insert(node: PathNode, parts: string[]): void {
  const [head, ...rest] = parts;
  if (head === undefined) {
    node.censor = true;
    return;
  }
  let child: PathNode | undefined;
  if (head === '*') {
    node.any ??= emptyNode();
    child = node.any;
  } else {
    child = node.children.get(head);
    if (!child) {
      child = emptyNode();
      node.children.set(head, child);
    }
  }
  insert(child, rest);
}

/** Folds each node's wildcard subtree into its named children, so a lookup needs one step. */
function mergeWildcards(node: PathNode): void {
  if (node.any) {
    mergeWildcards(node.any);
    for (const child of node.children.values()) mergeInto(child, node.any);
  }
  for (const child of node.children.values()) mergeWildcards(child);
}

function mergeInto(target: PathNode, source: PathNode): void {
  target.censor ||= source.censor;
  for (const [key, sourceChild] of source.children) {
    let child = target.children.get(key);
    if (!child) {
      child = emptyNode();
      target.children.set(key, child);
    }
    mergeInto(child, sourceChild);
  }
  if (source.any) {
    target.any ??= emptyNode();
    mergeInto(target.any, source.any);
  }
}

function buildRedactTree(paths: readonly string[]): PathNode {
  const root = emptyNode();
  for (const path of paths) insert(root, parseRedactPath(path));
  mergeWildcards(root);
  return root;
}

/**
 * `value` with every field the tree names censored; `value` itself when nothing is (no copy), and
 * never modified: a redacted object is a shallow copy along the censored paths only.
 */
function redactByTree<T>(value: T, node: PathNode): T {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const source = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const key in source) {
    if (!Object.hasOwn(source, key)) continue;
    const child = node.children.get(key) ?? node.any;
    if (!child) continue;
    const field = source[key];
    let next: unknown = field;
    if (child.censor) {
      if (field !== undefined) next = REDACTED;
    } else if (field !== null && typeof field === 'object') {
      next = redactByTree(field, child);
    }
    if (next !== field) {
      copy ??= shallowCopy(source);
      copy[key] = next;
    }
  }
  return (copy ?? value) as T;
}

/**
 * A plain object is spread; anything else (an Error above all) keeps its prototype and its
 * non-enumerable own properties, so pino's error serializer still finds its message and stack.
 */
function shallowCopy(source: Record<string, unknown>): Record<string, unknown> {
  const proto = Object.getPrototypeOf(source);
  if (proto === Object.prototype || proto === null) return { ...source };
  return Object.create(proto, Object.getOwnPropertyDescriptors(source)) as Record<string, unknown>;
}

const LOG_TREE = buildRedactTree(REDACT_PATHS);

/** A log line's object (or a child's bindings) with the fields REDACT_PATHS names censored. */
export function redactLogFields<T extends object>(fields: T): T {
  return redactByTree(fields, LOG_TREE);
}
