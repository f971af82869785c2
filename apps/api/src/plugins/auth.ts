/**
 * Owns client authentication and the operator guard. With API_KEYS set, every /v1/*, /metrics and
 * dashboard data request needs `Authorization: Bearer <key>`. Keys (client keys and the operator keys
 * of ADMIN_API_KEYS) are compared in constant time (hash, then timingSafeEqual over every configured
 * key), and only digests ever identify a client: a short one in logs (request.clientId), another as
 * the owner of its jobs (request.viewer, jobs/ownership.ts).
 * `app.requireOperator` guards what shows every job or the whole fleet (the dashboard's data,
 * bull-board, /metrics, /v1/config): with ADMIN_API_KEYS set only operator keys pass; unset, every
 * client key does (one team). Use it as a route's `onRequest`, or as a hook of a scope.
 * Named clients of the fleet config (`clients:`) authenticate like API_KEYS; every key has a client
 * name (request.clientName) that usage and budgets count under: the config's name, else
 * `key-<digest>` (@switchyard/shared usage/client-name.ts), or `anonymous` without keys. The key
 * table follows the running config: a reload that adds, removes or rotates a client's key applies
 * from the next request.
 * Browsers cannot attach a Bearer header when they navigate, so /admin (bull-board) also takes a
 * session cookie that the dashboard obtains with its key: a digest of the key, HttpOnly, never the key.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ANONYMOUS_CLIENT, type ClientConfig, keyClientName } from '@switchyard/shared';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import fp from 'fastify-plugin';
import { ANONYMOUS_VIEWER, type JobViewer, ownerOf } from '../jobs/ownership.ts';
import { errorBody } from './errors.ts';

type Hook = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void;

declare module 'fastify' {
  interface FastifyRequest {
    /** A stable, non-secret id of the calling client: `key:<digest>`, `session:<digest>` or `ip:<address>`. */
    clientId: string;
    /** Which jobs this request may see, and the owner its submissions are stored with. */
    viewer: JobViewer;
    /** It came with an operator key (ADMIN_API_KEYS), or bull-board's session cookie made from one. */
    operator: boolean;
    /** It came with a configured key (client or operator) or a valid session cookie. */
    authenticated: boolean;
    /** The client its usage and spend count under: a config client's name, `key-<digest>`, or `anonymous`. */
    clientName: string;
  }
  interface FastifyInstance {
    /** onRequest hook: only operator keys pass when ADMIN_API_KEYS is set; every client when it is not. */
    requireOperator: Hook;
  }
}

const digest = (value: string) => createHash('sha256').update(value).digest();

export interface AuthOptions {
  apiKeys: string[] | undefined;
  /** Operator keys (ADMIN_API_KEYS): every job, and what requireOperator guards. */
  adminKeys?: string[] | undefined;
  /** Paths (prefixes) that need a key. */
  protectedPrefixes?: string[];
  /** Named clients of the running fleet config: their keys are client keys too, named by the config. */
  clients?: () => readonly ClientConfig[];
}

/** One configured key, by its digests only. */
interface KeyEntry {
  digest: Buffer;
  owner: string;
  operator: boolean;
  client: string;
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

/** Every configured key by its digests, and the bull-board sessions they open. */
interface KeyTable {
  entries: KeyEntry[];
  sessions: Buffer[];
  /** No client key at all: the API is open (one anonymous client). */
  open: boolean;
}

function keyTable(apiKeys: readonly string[], adminKeys: readonly string[], clients: readonly ClientConfig[]): KeyTable {
  const named = new Map(clients.map((c) => [c.key, c.name]));
  // The valid client keys: API_KEYS and the config's clients' keys.
  const clientKeys = [...new Set([...apiKeys, ...named.keys()])];
  const entries = [
    ...clientKeys.filter((key) => !adminKeys.includes(key)).map((key) => ({ key, operator: false })),
    ...adminKeys.map((key) => ({ key, operator: true })),
  ].map(({ key, operator }) => ({ digest: digest(key), owner: ownerOf(key), operator, client: named.get(key) ?? keyClientName(key) }));
  // With operators configured, only their sessions open bull-board.
  const sessions = (adminKeys.length > 0 ? adminKeys : clientKeys).map((key) => digest(sessionTokenFor(key)));
  return { entries, sessions, open: clientKeys.length === 0 };
}

async function authPlugin(app: FastifyInstance, options: AuthOptions) {
  const apiKeys = options.apiKeys ?? [];
  const adminKeys = options.adminKeys ?? [];
  const operatorsConfigured = adminKeys.length > 0;
  const clientsOf = options.clients ?? (() => []);
  let clients = clientsOf();
  let table = keyTable(apiKeys, adminKeys, clients);
  /** The table of the running config's clients: rebuilt only when a reload replaced them. */
  const keys = (): KeyTable => {
    const now = clientsOf();
    if (now !== clients) {
      clients = now;
      table = keyTable(apiKeys, adminKeys, now);
    }
    return table;
  };
  const prefixes = options.protectedPrefixes ?? DEFAULT_PROTECTED;
  app.decorateRequest('clientId', '');
  app.decorateRequest('viewer', null as unknown as JobViewer);
  app.decorateRequest('operator', false);
  app.decorateRequest('authenticated', false);
  app.decorateRequest('clientName', ANONYMOUS_CLIENT);
  if (table.open) {
    app.log.warn(
      'API_KEYS is not set and the fleet config names no clients: the API is open to anyone who can reach it. Set API_KEYS to require Bearer keys.',
    );
  } else if (!operatorsConfigured) {
    app.log.info(
      'ADMIN_API_KEYS is not set: every client key may see the dashboard, bull-board and /metrics (jobs stay private to their key). Set ADMIN_API_KEYS to keep those to operators.',
    );
  }

  // 401s are sent from here rather than thrown, so routes with an error handler of their own
  // (bull-board) still answer in our envelope. A callback hook, not an async one: it runs on every
  // request and never waits, so a promise per request would buy nothing.
  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    const refusal = authenticate(request);
    if (refusal) unauthorized(reply, refusal);
    else done();
  });

  app.decorate('requireOperator', (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    if (!operatorsConfigured || request.operator) return done();
    if (!request.authenticated) {
      return unauthorized(
        reply,
        'This needs an operator key. Fix: send the header "Authorization: Bearer <key>" with a key from ADMIN_API_KEYS.',
      );
    }
    reply
      .code(403)
      .type('application/json; charset=utf-8')
      .send(
        errorBody(
          'permission_error',
          'This needs an operator key; client keys (API_KEYS) see their own jobs only. Fix: use a key from ADMIN_API_KEYS.',
          { code: 'operator_key_required' },
        ),
      );
  });

  /** Sets who the request is (clientId, viewer, operator), or returns why it is refused. */
  function authenticate(request: FastifyRequest): string | undefined {
    const presented = bearer(request.headers.authorization);
    const given = presented === undefined ? undefined : digest(presented);
    const { entries, open } = keys();
    let found: KeyEntry | undefined;
    if (given) for (const entry of entries) if (timingSafeEqual(given, entry.digest)) found = entry;
    if (given && found) {
      request.clientId = `key:${given.toString('hex').slice(0, 16)}`;
      request.viewer = { owner: found.owner, everyJob: found.operator, client: found.client };
      request.clientName = found.client;
      request.operator = found.operator;
      request.authenticated = true;
      return undefined;
    }
    request.viewer = ANONYMOUS_VIEWER;
    const session = !presented && request.url.startsWith(SESSION_PATH) ? validSession(request.headers.cookie) : undefined;
    if (session) {
      request.clientId = `session:${session.toString('hex').slice(0, 16)}`;
      request.operator = operatorsConfigured;
      request.authenticated = true;
      return undefined;
    }
    if (open) {
      // Open: one anonymous client, told apart only for rate limits. Operator routes still ask requireOperator.
      request.clientId = given ? `key:${given.toString('hex').slice(0, 16)}` : `ip:${request.ip}`;
      return undefined;
    }
    if (!isProtected(request.url, prefixes)) return undefined;
    if (!presented) return 'Missing API key. Fix: send the header "Authorization: Bearer <key>" with a key from API_KEYS.';
    return 'Invalid API key. Fix: use one of the keys configured in API_KEYS (or a client key of the fleet config).';
  }

  /** The cookie's digest when it is a session of a configured key. */
  function validSession(header: string | undefined): Buffer | undefined {
    const cookie = sessionCookie(header);
    if (!cookie) return undefined;
    const given = digest(cookie);
    let match = false;
    for (const session of keys().sessions) match = timingSafeEqual(given, session) || match;
    return match ? given : undefined;
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
