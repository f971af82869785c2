/**
 * Owns the Fastify application: plugins and routes composed in one place, with the zod type
 * provider so every route's schema drives validation, serialization (both compiled:
 * schema-compilers.ts) and the OpenAPI document.
 * Order matters: errors, then auth (sets request.clientId), then rate limits (keyed by it), then
 * the request figures (a hook per route added after them), then docs (collects the routes registered after it), then the routes, then the dashboard (its page,
 * data routes and bull-board; it reads app.ctx.state).
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, LogController } from 'fastify';
import type { ApiContext } from './context.ts';
import dashboardPlugin from './dashboard/index.ts';
import authPlugin from './plugins/auth.ts';
import { clientErrorHandler } from './plugins/client-errors.ts';
import docsPlugin from './plugins/docs.ts';
import errorsPlugin, { errorBody } from './plugins/errors.ts';
import rateLimitPlugin from './plugins/rate-limit.ts';
import requestFiguresPlugin from './request-figures.ts';
import { lazyChildLoggerFactory } from './request-logger.ts';
import chatCompletionRoutes from './routes/chat-completions.ts';
import configRoutes from './routes/config.ts';
import fleetRoutes from './routes/fleet.ts';
import healthRoutes from './routes/health.ts';
import jobBatchRoutes from './routes/job-batch.ts';
import jobEventRoutes from './routes/job-events.ts';
import jobRoutes from './routes/jobs.ts';
import modelRoutes from './routes/models.ts';
import prometheusRoutes from './routes/prometheus.ts';
import responseRoutes from './routes/responses.ts';
import usageRoutes from './routes/usage.ts';
import { compiledSerializerCompiler, compiledValidatorCompiler } from './schema-compilers.ts';
import { SseRegistry } from './sse.ts';
import budgetGuard from './usage/budget-guard.ts';

/** The HTTP server's deadlines; tests shorten them, production keeps the defaults. */
export interface BuildAppOptions {
  /** Whole request received within this (Node's requestTimeout): else a 408. */
  requestTimeoutMs?: number;
  /** Request headers received within this (Node's headersTimeout, default 60 s): else a 408. */
  headersTimeoutMs?: number;
  /** How often Node checks those deadlines (default 30 s). */
  timeoutCheckIntervalMs?: number;
}

export async function buildApp(ctx: ApiContext, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.logger as FastifyBaseLogger,
    bodyLimit: ctx.config.BODY_LIMIT_BYTES,
    // Per-request access lines only at debug: at thousands of requests/s they would be most of the log.
    logController: new LogController({ disableRequestLogging: ctx.config.LOG_LEVEL !== 'debug' && ctx.config.LOG_LEVEL !== 'trace' }),
    requestIdHeader: 'x-request-id',
    childLoggerFactory: lazyChildLoggerFactory,
    return503OnClosing: true,
    connectionTimeout: 0,
    requestTimeout: options.requestTimeoutMs ?? 120_000,
    http: {
      ...(options.headersTimeoutMs !== undefined ? { headersTimeout: options.headersTimeoutMs } : {}),
      ...(options.timeoutCheckIntervalMs !== undefined ? { connectionsCheckingInterval: options.timeoutCheckIntervalMs } : {}),
    },
    // Requests Node's parser rejects (bad request line or header, headers over the limit, broken
    // chunked framing, the deadlines above): our envelope and status, not Fastify's default body.
    clientErrorHandler,
    // Job ids are up to 128 characters; a longer path parameter is a 414 (below), never a 404.
    routerOptions: { maxParamLength: 256 },
    // Errors the router raises before any hook runs (a malformed URL, an over-long parameter):
    // the same envelope as every other error.
    frameworkErrors: (error, _request, res) => {
      const [status, message]: [number, string] =
        error.code === 'FST_ERR_BAD_URL'
          ? [400, 'Malformed URL: it is not valid percent-encoding.']
          : error.code === 'FST_ERR_MAX_PARAM_LENGTH'
            ? [414, 'A path parameter is too long (at most 256 characters).']
            : [500, 'Internal error.'];
      (res as FastifyReply)
        .code(status)
        .type('application/json; charset=utf-8')
        .send(errorBody(status === 500 ? 'server_error' : 'invalid_request_error', message));
    },
  });
  app.setValidatorCompiler(compiledValidatorCompiler);
  app.setSerializerCompiler(compiledSerializerCompiler);
  app.decorate('ctx', ctx);
  const sse = new SseRegistry();
  app.decorate('sse', sse);
  // Open event streams would otherwise hold server.close() until their clients leave.
  app.addHook('preClose', async () => sse.closeAll());
  // Every body this API takes is JSON; anything else is a 415 rather than a confusing 400.
  app.removeContentTypeParser('text/plain');

  await app.register(errorsPlugin);
  await app.register(authPlugin, { apiKeys: ctx.config.API_KEYS, adminKeys: ctx.config.ADMIN_API_KEYS, clients: ctx.clients });
  await app.register(rateLimitPlugin, { rpm: ctx.config.RATE_LIMIT_RPM, redis: ctx.redis, namespace: ctx.config.SWITCHYARD_NAMESPACE });
  // Client budgets (usage/budget-guard.ts): a preHandler on the intake routes, only when the config sets any.
  await app.register(budgetGuard, { clients: ctx.clients, usage: ctx.state.usage });
  // Before docs and every route: each route gets its own counting hook as it is added.
  await app.register(requestFiguresPlugin);
  await app.register(docsPlugin);
  await app.register(prometheusRoutes);
  await app.register(healthRoutes);
  await app.register(jobRoutes);
  await app.register(jobBatchRoutes);
  await app.register(jobEventRoutes);
  await app.register(chatCompletionRoutes);
  await app.register(responseRoutes);
  await app.register(modelRoutes);
  await app.register(fleetRoutes);
  await app.register(configRoutes);
  await app.register(usageRoutes);
  await app.register(dashboardPlugin);
  return app;
}
