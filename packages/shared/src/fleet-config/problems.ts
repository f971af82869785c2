/**
 * Owns how a fleet config problem is named: its path in the file (`routes[0].targets[1].deployment`),
 * the order problems are listed in (the file's own order), and the "did you mean" hint for a near
 * miss of a known key or value.
 */

export type ConfigPath = readonly (string | number)[];

export interface Problem {
  path: ConfigPath;
  message: string;
}

/** `['routes', 0, 'targets', 1, 'deployment']` -> `routes[0].targets[1].deployment`. */
export function formatPath(path: ConfigPath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out;
}

/** Sorts indices numerically (deployments[2] before deployments[10]); the sort is stable. */
function sortKey(path: ConfigPath): string {
  return path.map((part) => (typeof part === 'number' ? String(part).padStart(6, '0') : part)).join('\u0000');
}

export function formatProblems(problems: Problem[]): string[] {
  return [...problems]
    .sort((a, b) => (sortKey(a.path) < sortKey(b.path) ? -1 : sortKey(a.path) > sortKey(b.path) ? 1 : 0))
    .map((p) => (p.path.length === 0 ? p.message : `${formatPath(p.path)}: ${p.message}`));
}

/** Names people reach for that are far from the right one in spelling. */
const SYNONYMS: Record<string, string[]> = {
  id: ['name'],
  name: ['id', 'alias'],
  provider: ['type', 'kind', 'vendor'],
  base_url: ['url', 'endpoint', 'api_base'],
  targets: ['models', 'deployments'],
  default_route: ['default', 'default_model'],
  budget_ms: ['timeout_ms', 'timeout'],
  'openai-compatible': ['vllm', 'llamacpp', 'lmstudio', 'groq', 'together', 'deepseek', 'mistral', 'localai'],
  'azure-openai': ['azure'],
  anthropic: ['claude'],
  gemini: ['google', 'vertex'],
};

const normalize = (s: string) => s.toLowerCase().replace(/[-_\s]/g, '');

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min((previous[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length] ?? 0;
}

/** The known word `word` most likely stands for, if any: same letters, a synonym, a part, or a typo. */
export function nearMiss(word: string, known: readonly string[]): string | undefined {
  const w = normalize(word);
  if (w === '') return undefined;
  return (
    known.find((k) => normalize(k) === w) ??
    known.find((k) => SYNONYMS[k]?.some((s) => normalize(s) === w)) ??
    known.find((k) => w.length >= 3 && (normalize(k).includes(w) || w.includes(normalize(k)))) ??
    known.find((k) => editDistance(w, normalize(k)) <= (w.length <= 4 ? 1 : 2))
  );
}

/** ` (did you mean "api_key"?)`, or nothing. */
export function didYouMean(word: string, known: readonly string[]): string {
  const guess = nearMiss(word, known);
  return guess ? ` (did you mean "${guess}"?)` : '';
}
