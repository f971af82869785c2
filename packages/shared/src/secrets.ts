/**
 * Owns secret hygiene: the shapes of provider keys, and scrubbing of anything key-like from text
 * that may reach a log line, an error message, a status response or a metric label.
 */

/** OpenRouter keys are `sk-or-v1-` followed by 64 hex characters. */
export const OPENROUTER_KEY_SHAPE = /^sk-or-v1-[0-9a-f]{64}$/;

const knownSecrets = new Set<string>();

/** Registers a configured secret so that any text containing it is scrubbed, whatever its shape. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 6) knownSecrets.add(value);
}

/**
 * Each pattern with a literal its matches must contain, when there is one: a line without it skips
 * the regex (every log line passes through here; most contain none of these).
 */
const SECRET_PATTERNS: { pattern: RegExp; needs?: string }[] = [
  { pattern: /sk-or-v1-[0-9a-zA-Z]{8,}/g, needs: 'sk-' },
  { pattern: /sk-(?:proj-|ant-(?:api\d\d-)?)?[A-Za-z0-9_-]{12,}/g, needs: 'sk-' },
  { pattern: /AIza[0-9A-Za-z_-]{20,}/g, needs: 'AIza' },
  { pattern: /(Bearer\s+)[A-Za-z0-9._~+/=-]{6,}/gi },
  { pattern: /([?&](?:key|api_key|apikey|token)=)[^&\s"']+/gi, needs: '=' },
  { pattern: /(x-(?:api|goog-api)-key["']?\s*[:=]\s*["']?)[^"'\s,}]+/gi },
  { pattern: /([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s/]+(?=@)/gi, needs: '://' },
];

export const REDACTED = '[REDACTED]';

export function redactSecrets(text: string): string {
  let out = text;
  for (const secret of knownSecrets) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  for (const { pattern, needs } of SECRET_PATTERNS) {
    if (needs !== undefined && !out.includes(needs)) continue;
    out = out.replace(pattern, (_match, prefix?: string) =>
      typeof prefix === 'string' && !/^\d+$/.test(prefix) ? `${prefix}${REDACTED}` : REDACTED,
    );
  }
  return out;
}

/** A URL safe to print: credentials replaced. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = 'REDACTED';
    for (const name of ['key', 'api_key', 'apikey', 'token']) {
      if (parsed.searchParams.has(name)) parsed.searchParams.set(name, 'REDACTED');
    }
    return parsed.toString();
  } catch {
    return redactSecrets(url);
  }
}
