/**
 * Owns the mock server's fault language: parsing a fault spec (from the `x-mock-fault` header, a
 * `[[mock:...]]` directive in the last user message, or an admin rule), and the rule book that
 * matches configured rules by provider, model and endpoint with a probability and a count.
 *
 * Syntax: `;`-separated items, each `name` or `name=value`:
 *   latency=MS | latency=MIN-MAX   delay before answering (fixed, or uniform in a range)
 *   tail=P%:MS                     heavy tail: P percent of calls wait MS more
 *   status=CODE                    answer CODE with the vendor's real error body for it
 *   error=KIND                     the vendor's real error for KIND (status from the vendor unless status= is given)
 *   retry-after=S|HTTP-DATE        retry-after header on the error; retry-after-ms=MS likewise
 *   hang                           never answer (until the client goes away)
 *   reset                          destroy the connection without answering
 *   malformed                      200 with a body (or stream event) that is not JSON
 *   inband                         200 carrying an error (OpenRouter style; each vendor's in-band form)
 *   cut=N                          stream: N content chunks, then destroy the connection (non-stream: half the body)
 *   eof=N                          stream: N content chunks, then end cleanly without the terminator
 *   hang-after=N                   stream: N content chunks, then go silent with the connection open
 *   slow=MS                        delay between stream chunks
 *   words=N                        reply with N words instead of echoing the last user message
 */

export const ERROR_KINDS = [
  'bad_request',
  'context_length',
  'content_policy',
  'model_not_found',
  'auth',
  'forbidden',
  'credits',
  'rate_limit',
  'timeout',
  'server',
  'bad_gateway',
  'unavailable',
  'gateway_timeout',
  'overloaded',
] as const;

export type ErrorKind = (typeof ERROR_KINDS)[number];

/** The kind a bare `status=` fault means, before each vendor renders its real body for it. */
export function kindForStatus(status: number): ErrorKind {
  const exact: Record<number, ErrorKind> = {
    400: 'bad_request',
    401: 'auth',
    402: 'credits',
    403: 'forbidden',
    404: 'model_not_found',
    408: 'timeout',
    413: 'context_length',
    422: 'bad_request',
    429: 'rate_limit',
    500: 'server',
    502: 'bad_gateway',
    503: 'unavailable',
    504: 'gateway_timeout',
    529: 'overloaded',
  };
  return exact[status] ?? (status >= 500 ? 'server' : 'bad_request');
}

export interface Fault {
  latencyMs?: number;
  latencyMaxMs?: number;
  tail?: { percent: number; ms: number };
  status?: number;
  error?: ErrorKind;
  retryAfter?: string;
  retryAfterMs?: number;
  hang?: boolean;
  reset?: boolean;
  malformed?: boolean;
  inband?: boolean;
  cut?: number;
  eof?: number;
  hangAfter?: number;
  slowMs?: number;
  words?: number;
}

export class FaultSyntaxError extends Error {
  override name = 'FaultSyntaxError';
}

function nonNegativeInt(name: string, value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n < 0)
    throw new FaultSyntaxError(`${name} needs a whole number, got "${value ?? ''}"`);
  return n;
}

/** Parses a fault spec; throws FaultSyntaxError naming the bad item. An empty spec is no fault. */
export function parseFault(spec: string): Fault {
  const fault: Fault = {};
  // Items split on ";" (or "," before another item), so an HTTP date's comma stays inside retry-after.
  for (const rawItem of spec.split(/;|,(?=\s*[a-z-]+\s*(?:=|;|,|$))/i)) {
    const item = rawItem.trim();
    if (!item) continue;
    const eq = item.indexOf('=');
    const name = (eq < 0 ? item : item.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? undefined : item.slice(eq + 1).trim();
    switch (name) {
      case 'latency': {
        const range = /^(\d+)\s*-\s*(\d+)$/.exec(value ?? '');
        if (range) {
          fault.latencyMs = Number(range[1]);
          fault.latencyMaxMs = Math.max(Number(range[1]), Number(range[2]));
        } else fault.latencyMs = nonNegativeInt(name, value);
        break;
      }
      case 'tail': {
        const match = /^(\d+(?:\.\d+)?)%:(\d+)$/.exec(value ?? '');
        if (!match) throw new FaultSyntaxError(`tail needs P%:MS, e.g. tail=5%:2000, got "${value ?? ''}"`);
        fault.tail = { percent: Math.min(100, Number(match[1])), ms: Number(match[2]) };
        break;
      }
      case 'status': {
        const status = nonNegativeInt(name, value);
        if (status < 100 || status > 599) throw new FaultSyntaxError(`status must be 100-599, got ${status}`);
        fault.status = status;
        break;
      }
      case 'error': {
        if (!(ERROR_KINDS as readonly string[]).includes(value ?? '')) {
          throw new FaultSyntaxError(`error must be one of ${ERROR_KINDS.join(', ')}, got "${value ?? ''}"`);
        }
        fault.error = value as ErrorKind;
        break;
      }
      case 'retry-after':
        if (!value) throw new FaultSyntaxError('retry-after needs seconds or an HTTP date');
        fault.retryAfter = value;
        break;
      case 'retry-after-ms':
        fault.retryAfterMs = nonNegativeInt(name, value);
        break;
      case 'hang':
        fault.hang = true;
        break;
      case 'reset':
        fault.reset = true;
        break;
      case 'malformed':
        fault.malformed = true;
        break;
      case 'inband':
        fault.inband = true;
        break;
      case 'cut':
        fault.cut = value === undefined ? 1 : nonNegativeInt(name, value);
        break;
      case 'eof':
        fault.eof = value === undefined ? 1 : nonNegativeInt(name, value);
        break;
      case 'hang-after':
        fault.hangAfter = value === undefined ? 1 : nonNegativeInt(name, value);
        break;
      case 'slow':
        fault.slowMs = nonNegativeInt(name, value);
        break;
      case 'words':
        fault.words = nonNegativeInt(name, value);
        break;
      default:
        throw new FaultSyntaxError(`unknown fault "${name}"`);
    }
  }
  return fault;
}

export function isEmptyFault(fault: Fault): boolean {
  return Object.keys(fault).length === 0;
}

/** Milliseconds to wait before answering under this fault. */
export function delayFor(fault: Fault, random: () => number): number {
  let ms = fault.latencyMs ?? 0;
  if (fault.latencyMaxMs !== undefined) ms += Math.floor(random() * (fault.latencyMaxMs - ms + 1));
  if (fault.tail && random() * 100 < fault.tail.percent) ms += fault.tail.ms;
  return ms;
}

const DIRECTIVE = /\[\[mock:([^\]]*)\]\]/;

/** Finds a `[[mock:...]]` directive in message text; returns the spec and the text without it. */
export function extractDirective(text: string): { spec?: string; text: string } {
  const match = DIRECTIVE.exec(text);
  if (!match) return { text };
  return {
    spec: match[1] ?? '',
    text: text
      .replace(DIRECTIVE, '')
      .replace(/\s{2,}/g, ' ')
      .trim(),
  };
}

export type Endpoint = 'chat' | 'models' | 'key' | 'credits';

export interface FaultRule {
  /** Provider prefix (openai, openrouter, anthropic, gemini, ollama, mock) or "*" for all. */
  provider: string;
  /** Exact model id, or a pattern with "*"; omitted matches every model (and non-chat endpoints). */
  model?: string;
  /** Which endpoints it applies to; default every endpoint of the provider. */
  endpoint?: Endpoint | '*';
  /** The fault, in the syntax above or already parsed. */
  fault: string | Fault;
  /** Chance that a matching call gets the fault, 0-1; default 1. */
  probability?: number;
  /** Applies to this many calls, then the rule is spent; default unlimited. */
  count?: number;
}

interface StoredRule {
  rule: FaultRule;
  fault: Fault;
  remaining: number;
  modelPattern?: RegExp;
}

function globToRegExp(glob: string): RegExp {
  return new RegExp(
    `^${glob
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
      .join('.*')}$`,
  );
}

/** The configured rules. First matching rule that fires wins. */
export class FaultBook {
  private rules: StoredRule[] = [];

  constructor(private readonly random: () => number) {}

  /** Replaces the rules (validated all at once: one bad rule rejects the lot). */
  set(rules: FaultRule[]): void {
    this.rules = rules.map((rule) => this.store(rule));
  }

  add(rules: FaultRule[]): void {
    this.rules.push(...rules.map((rule) => this.store(rule)));
  }

  clear(): void {
    this.rules = [];
  }

  list(): Array<FaultRule & { remaining: number | null }> {
    return this.rules.map((s) => ({ ...s.rule, remaining: Number.isFinite(s.remaining) ? s.remaining : null }));
  }

  match(provider: string, model: string | undefined, endpoint: Endpoint): Fault | undefined {
    for (const stored of this.rules) {
      const { rule } = stored;
      if (stored.remaining <= 0) continue;
      if (rule.provider !== '*' && rule.provider !== provider) continue;
      if ((rule.endpoint ?? '*') !== '*' && rule.endpoint !== endpoint) continue;
      if (stored.modelPattern && (model === undefined || !stored.modelPattern.test(model))) continue;
      if (rule.probability !== undefined && this.random() >= rule.probability) continue;
      stored.remaining -= 1;
      return stored.fault;
    }
    return undefined;
  }

  private store(rule: FaultRule): StoredRule {
    if (!rule || typeof rule.provider !== 'string' || !rule.provider)
      throw new FaultSyntaxError('a rule needs "provider" (a prefix or "*")');
    if (rule.probability !== undefined && !(rule.probability >= 0 && rule.probability <= 1)) {
      throw new FaultSyntaxError('probability must be between 0 and 1');
    }
    if (rule.count !== undefined && !(Number.isInteger(rule.count) && rule.count >= 0))
      throw new FaultSyntaxError('count must be a whole number');
    const fault = typeof rule.fault === 'string' ? parseFault(rule.fault) : rule.fault;
    if (!fault || typeof fault !== 'object') throw new FaultSyntaxError('a rule needs "fault"');
    return {
      rule,
      fault,
      remaining: rule.count ?? Number.POSITIVE_INFINITY,
      ...(rule.model ? { modelPattern: globToRegExp(rule.model) } : {}),
    };
  }
}
