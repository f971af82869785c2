/**
 * Owns classification of failures that never produced an HTTP answer: refused, reset, DNS, TLS,
 * a body cut by the peer, a body that does not parse. Aborts are decided earlier, by the attempt
 * (see transport/attempt.ts), because only it knows whether the abort was ours or a deadline.
 */
import type { ErrorClass } from '@switchyard/shared';

/** Error codes (Node's syscall codes, undici's, OpenSSL's) and the class each one means. */
export const NETWORK_CODE_TABLE: ReadonlyArray<readonly [code: string | RegExp, errorClass: ErrorClass]> = [
  ['ECONNREFUSED', 'network_error'],
  ['ECONNRESET', 'network_error'],
  ['ECONNABORTED', 'network_error'],
  ['EPIPE', 'network_error'],
  ['ENOTFOUND', 'network_error'],
  ['EAI_AGAIN', 'network_error'],
  ['EHOSTUNREACH', 'network_error'],
  ['ENETUNREACH', 'network_error'],
  ['ENETDOWN', 'network_error'],
  ['ETIMEDOUT', 'network_error'],
  ['UND_ERR_SOCKET', 'network_error'],
  ['UND_ERR_CLOSED', 'network_error'],
  ['UND_ERR_CONNECT_TIMEOUT', 'network_error'],
  // undici's own header/body deadlines: the provider went quiet past a transport deadline.
  ['UND_ERR_HEADERS_TIMEOUT', 'timeout'],
  ['UND_ERR_BODY_TIMEOUT', 'timeout'],
  ['UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'network_error'],
  ['UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', 'network_error'],
  // TLS: a certificate or handshake problem is a connectivity failure, not a bad answer.
  ['EPROTO', 'network_error'],
  [/^ERR_TLS_/, 'network_error'],
  [/^ERR_SSL_/, 'network_error'],
  [/CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|HOSTNAME_MISMATCH/, 'network_error'],
];

/** The first string `code` found walking the `cause` chain (SDK error -> TypeError('fetch failed') -> socket error). */
export function errorCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 6 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code.length > 0) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function chainText(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; depth < 6 && current; depth++) {
    if (current instanceof Error) parts.push(`${current.name}: ${current.message}`);
    else if (typeof current === 'string') parts.push(current);
    current = current && typeof current === 'object' ? (current as { cause?: unknown }).cause : undefined;
  }
  return parts.join(' <- ');
}

function isSyntaxError(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; depth < 6 && current; depth++) {
    if (current instanceof SyntaxError) return true;
    current = current && typeof current === 'object' ? (current as { cause?: unknown }).cause : undefined;
  }
  return false;
}

/**
 * The class of a thrown transport or parsing error. Exported pure for the table tests.
 * - a known code: from the table;
 * - a JSON/SSE parse failure: invalid_response (the bytes arrived, the format was wrong);
 * - undici's "terminated" / "other side closed": the peer cut the body, network_error;
 * - anything else on the transport path: network_error when it reads like one, else invalid_response.
 */
export function classifyThrown(err: unknown): ErrorClass {
  const code = errorCode(err);
  if (code) {
    for (const [match, errorClass] of NETWORK_CODE_TABLE) {
      if (typeof match === 'string' ? code === match : match.test(code)) return errorClass;
    }
  }
  if (isSyntaxError(err)) return 'invalid_response';
  const text = chainText(err);
  if (/terminated|other side closed|socket hang up|fetch failed|network|connection (?:error|reset|refused|closed)|ECONN/i.test(text)) {
    return 'network_error';
  }
  return 'invalid_response';
}

/** A short, secret-free description of a thrown error for ProviderError messages: "fetch failed (ECONNREFUSED)". */
export function describeThrown(err: unknown): string {
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : typeof err === 'string' ? err : 'unknown error';
  const innermost = innermostMessage(err);
  const detail = innermost && innermost !== message ? `: ${innermost}` : '';
  return `${message}${detail}${code && !message.includes(code) && !detail.includes(code) ? ` (${code})` : ''}`.slice(0, 500);
}

function innermostMessage(err: unknown): string | undefined {
  let current: unknown = err;
  let last: string | undefined;
  for (let depth = 0; depth < 6 && current && typeof current === 'object'; depth++) {
    if (current instanceof Error) last = current.message;
    current = (current as { cause?: unknown }).cause;
  }
  return last;
}
