/**
 * Owns the mock server process side: the node:http server (raw sockets, so resets and hangs are
 * real), the admin API under /__mock/, call accounting hooks, and a clean shutdown that closes every
 * connection, hung ones included.
 *
 * Admin API:
 *   GET  /__mock/health                 {ok:true}
 *   GET  /__mock/stats                  MockStats
 *   POST /__mock/reset                  zero stats, clear rules (body {stats?,faults?} to pick)
 *   GET  /__mock/faults                 {rules}
 *   POST /__mock/faults                 {rules:[FaultRule], mode?:"replace"|"append"} (or one rule, or an array)
 *   DELETE /__mock/faults               clear rules
 *   POST /__mock/openrouter/account     {limit:number|null, usage:number}: what /key and /credits report
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FaultBook, type FaultRule, FaultSyntaxError } from './faults.ts';
import { type RecordedRequest, respond } from './respond.ts';
import { type MockProvider, mockBaseUrls, route } from './routes.ts';
import { type MockStats, StatsBook } from './stats.ts';

export interface MockServerOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Rules active from the start. */
  faults?: FaultRule[];
  /** Keep the last `recordLimit` requests (headers included: in-process only, never served over HTTP). */
  record?: boolean;
  recordLimit?: number;
  /** For reproducible probabilities and tails. */
  random?: () => number;
  openrouterAccount?: { limit: number | null; usage: number };
}

export interface MockServer {
  url: string;
  port: number;
  /** Base URL per provider prefix, e.g. openai -> `${url}/openai/v1`. */
  baseUrls: Record<MockProvider, string>;
  /** Environment that points every provider at this server. */
  env(): Record<string, string>;
  stats(): MockStats;
  resetStats(): void;
  setFaults(rules: FaultRule[]): void;
  addFaults(rules: FaultRule[]): void;
  clearFaults(): void;
  faults(): Array<FaultRule & { remaining: number | null }>;
  setOpenRouterAccount(account: { limit: number | null; usage: number }): void;
  /** Recorded requests, oldest first (needs `record: true`). */
  requests(): RecordedRequest[];
  clearRequests(): void;
  close(): Promise<void>;
}

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8').trim();
  return text ? (JSON.parse(text) as unknown) : undefined;
}

function reply(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

export async function startMockServer(options: MockServerOptions = {}): Promise<MockServer> {
  const random = options.random ?? Math.random;
  const book = new FaultBook(random);
  if (options.faults) book.set(options.faults);
  const stats = new StatsBook();
  const recorded: RecordedRequest[] = [];
  const recordLimit = options.recordLimit ?? 200;
  let account = options.openrouterAccount ?? { limit: 100, usage: 12.5 };
  let closing = false;
  /** Settles when each open call's connection has closed; close() waits for them so stats are final. */
  const openCalls = new Set<Promise<void>>();

  async function admin(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const key = `${req.method} ${url.pathname}`;
    try {
      switch (key) {
        case 'GET /__mock/health':
          return reply(res, 200, { ok: true });
        case 'GET /__mock/stats':
          return reply(res, 200, stats.snapshot());
        case 'POST /__mock/reset': {
          const body = ((await readJsonBody(req)) ?? {}) as { stats?: boolean; faults?: boolean };
          if (body.stats !== false) stats.reset();
          if (body.faults !== false) book.clear();
          return reply(res, 200, { ok: true });
        }
        case 'GET /__mock/faults':
          return reply(res, 200, { rules: book.list() });
        case 'DELETE /__mock/faults':
          book.clear();
          return reply(res, 200, { rules: [] });
        case 'POST /__mock/faults': {
          const body = (await readJsonBody(req)) as { rules?: FaultRule[]; mode?: string } | FaultRule | FaultRule[] | undefined;
          const rules = Array.isArray(body)
            ? body
            : body && 'rules' in body && Array.isArray(body.rules)
              ? body.rules
              : body
                ? [body as FaultRule]
                : [];
          if (body && !Array.isArray(body) && 'mode' in body && body.mode === 'append') book.add(rules);
          else book.set(rules);
          return reply(res, 200, { rules: book.list() });
        }
        case 'POST /__mock/openrouter/account': {
          const body = (await readJsonBody(req)) as { limit?: unknown; usage?: unknown } | undefined;
          const limit = body?.limit === null ? null : Number(body?.limit);
          const usage = Number(body?.usage ?? 0);
          if ((limit !== null && !Number.isFinite(limit)) || !Number.isFinite(usage))
            throw new FaultSyntaxError('limit (number or null) and usage (number) required');
          account = { limit, usage };
          return reply(res, 200, { account });
        }
        default:
          return reply(res, 404, { error: { message: `no admin route ${key}` } });
      }
    } catch (err) {
      const message = err instanceof FaultSyntaxError || err instanceof SyntaxError ? err.message : 'bad admin request';
      return reply(res, 400, { error: { type: 'mock_admin', message } });
    }
  }

  const server: Server = createServer((req, res) => {
    res.on('error', () => {});
    const url = new URL(req.url ?? '/', 'http://mock.local');
    if (url.pathname.startsWith('/__mock/')) {
      void admin(req, res, url);
      return;
    }
    const found = route(req.method ?? 'GET', url.pathname);
    if (!found) {
      reply(res, 404, { error: { message: `mock server has no route ${req.method} ${url.pathname}` } });
      return;
    }
    const record = stats.begin(found.provider, found.endpoint);
    const closed = new Promise<void>((resolve) => res.once('close', () => resolve()));
    openCalls.add(closed);
    void closed.then(() => openCalls.delete(closed));
    const gone = new AbortController();
    let dropped = false;
    res.on('finish', () => record.end('completed'));
    res.on('close', () => {
      if (!res.writableFinished) record.end(dropped || closing ? 'dropped' : 'abandoned');
      gone.abort();
    });
    respond({
      req,
      res,
      url,
      route: found,
      record,
      faults: book,
      random,
      gone: gone.signal,
      markDropped: () => {
        dropped = true;
      },
      openrouterAccount: account,
      ...(options.record
        ? {
            onRequest: (request: RecordedRequest) => {
              recorded.push(request);
              if (recorded.length > recordLimit) recorded.shift();
            },
          }
        : {}),
    }).catch(() => {
      if (!res.headersSent) reply(res, 500, { error: { message: 'mock server failure' } });
    });
  });
  // Hangs must be able to outlive Node's default 5-minute request timeout.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  // Idle keep-alive connections stay open as a vendor's front end keeps them (minutes, not Node's
  // 5 s): a client that reuses one just as the server closes it gets "socket hang up", which the
  // bench's open loop counted as a failed request of the direct call.
  server.keepAliveTimeout = 72_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  const baseUrls = mockBaseUrls(url);

  return {
    url,
    port: address.port,
    baseUrls,
    env: () => ({
      OPENAI_BASE_URL: baseUrls.openai,
      OPENROUTER_BASE_URL: baseUrls.openrouter,
      ANTHROPIC_BASE_URL: baseUrls.anthropic,
      GEMINI_BASE_URL: baseUrls.gemini,
      OLLAMA_BASE_URL: baseUrls.ollama,
      MOCK_PROVIDER_URL: baseUrls.mock,
    }),
    stats: () => stats.snapshot(),
    resetStats: () => stats.reset(),
    setFaults: (rules) => book.set(rules),
    addFaults: (rules) => book.add(rules),
    clearFaults: () => book.clear(),
    faults: () => book.list(),
    setOpenRouterAccount: (next) => {
      account = next;
    },
    requests: () => [...recorded],
    clearRequests: () => {
      recorded.length = 0;
    },
    close: async () => {
      closing = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await Promise.all([stopped, ...openCalls]);
    },
  };
}
