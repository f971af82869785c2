/**
 * Owns client authentication: with API_KEYS set, every /v1/*, /metrics and dashboard data request
 * needs `Authorization: Bearer <key>`. Keys are compared in constant time (hash, then
 * timingSafeEqual over every configured key), and only a key's short digest ever identifies a client.
 * Browsers cannot attach a Bearer header when they navigate, so /admin (bull-board) also takes a
 * session cookie that the dashboard obtains with its key: a digest of the key, HttpOnly, never the key.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import fp from 'fastify-plugin';
import { errorBody } from './errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** A stable, non-secret id of the calling client: `key:<digest>` or `ip:<address>`. */
    clientId: string;
  }
}

const digest = (value: string) => createHash('sha256').update(value).digest();

export interface AuthOptions {
  apiKeys: string[] | undefined;
  /** Paths (prefixes) that need a key. */
  protectedPrefixes?: string[];
}

const DEFAULT_PROTECTED = ['/v1/', '/metrics', '/dashboard/api', '/admin'];

export const SESSION_COOKIE = 'sy_session';
/** Where the session cookie is sent and accepted: bull-board's pages and their assets only. */
export const SESSION_PATH = '/admin';

/** The session cookie's value for a key: useless as a Bearer key, and never the key itself. */
export function sessionTokenFor(key: string): string {
  return createHash('sha256').update(`switchyard-session\0${key}`).digest('hex');
}

function sessionCookie(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === SESSION_COOKIE) return value.join('=');
  }
  return undefined;
}

export function isProtected(url: string, prefixes: string[]): boolean {
  const path = url.split('?')[0] ?? url;
  return prefixes.some((prefix) => path === prefix.replace(/\/$/, '') || path.startsWith(prefix));
}

async function authPlugin(app: FastifyInstance, options: AuthOptions) {
  const keys = (options.apiKeys ?? []).map(digest);
  const sessions = (options.apiKeys ?? []).map((key) => digest(sessionTokenFor(key)));
  const prefixes = options.protectedPrefixes ?? DEFAULT_PROTECTED;
  app.decorateRequest('clientId', '');
  if (keys.length === 0) {
    app.log.warn('API_KEYS is not set: the API is open to anyone who can reach it. Set API_KEYS to require Bearer keys.');
  }

  // 401s are sent from here rather than thrown, so routes with an error handler of their own
  // (bull-board) still answer in our envelope. A callback hook, not an async one: it runs on every
  // request and never waits, so a promise per request would buy nothing.
  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    const refusal = authenticate(request);
    if (refusal) unauthorized(reply, refusal);
    else done();
  });

  /** Sets request.clientId, or returns why the request is refused. */
  function authenticate(request: FastifyRequest): string | undefined {
    const presented = bearer(request.headers.authorization);
    if (keys.length === 0) {
      request.clientId = presented ? `key:${digest(presented).toString('hex').slice(0, 16)}` : `ip:${request.ip}`;
      return undefined;
    }
    if (!isProtected(request.url, prefixes)) return undefined;
    if (!presented && request.url.startsWith(SESSION_PATH)) {
      const cookie = sessionCookie(request.headers.cookie);
      if (cookie) {
        const given = digest(cookie);
        let match = false;
        for (const session of sessions) match = timingSafeEqual(given, session) || match;
        if (match) {
          request.clientId = `session:${given.toString('hex').slice(0, 16)}`;
          return undefined;
        }
      }
    }
    if (!presented) return 'Missing API key. Fix: send the header "Authorization: Bearer <key>" with a key from API_KEYS.';
    const given = digest(presented);
    let match = false;
    for (const key of keys) match = timingSafeEqual(given, key) || match;
    if (!match) return 'Invalid API key. Fix: use one of the keys configured in API_KEYS.';
    request.clientId = `key:${given.toString('hex').slice(0, 16)}`;
    return undefined;
  }
}

function unauthorized(reply: FastifyReply, message: string) {
  return reply
    .code(401)
    .header('www-authenticate', 'Bearer')
    .type('application/json; charset=utf-8')
    .send(errorBody('authentication_error', message, { code: 'invalid_api_key' }));
}

function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

export default fp(authPlugin, { name: 'switchyard-auth' });
