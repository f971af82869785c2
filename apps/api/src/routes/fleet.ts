/**
 * Owns the fleet read routes, all served from the shared state store in Redis:
 * GET /v1/providers/status (cache-first, force_refresh single-flight, cache_hit, circuit details),
 * GET /v1/metrics?days=N (daily per-deployment totals, successes, failures by class, latency; per
 * route, the jobs completed through it with their tokens and spend) and GET /v1/workers (live
 * worker replicas). Times are ISO 8601 strings; no secret is ever stored
 * in what these read, and messages are scrubbed once more on the way out.
 */
import { ERROR_CLASSES, redactSecrets } from '@switchyard/shared';
import { DAILY_RETENTION_DAYS, type ProviderStatus, type UsageFigures } from '@switchyard/state';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { RedisUnavailableError } from '../plugins/errors.ts';
import { errorSchema } from './schemas.ts';

const iso = (ms: number | null | undefined) => (typeof ms === 'number' && Number.isFinite(ms) ? new Date(ms).toISOString() : null);
const isoOrNull = z.string().nullable();

const providerStatusSchema = z.object({
  /** The deployment id: the unit of health (an implicit deployment is named after its provider). */
  deployment: z.string(),
  /** Its provider kind. */
  provider: z.string(),
  state: z.string(),
  circuit: z.object({ state: z.string(), consecutive_failures: z.number().int(), opened_at: isoOrNull, next_probe_at: isoOrNull }),
  last_error: z.object({ class: z.enum(ERROR_CLASSES), message: z.string(), at: isoOrNull }).nullable(),
  checked_at: isoOrNull,
  cache_hit: z.boolean(),
  cooldown_until: isoOrNull,
  credits: z.object({ remaining: z.number().nullable(), limit: z.number().nullable(), usage: z.number().nullable() }).optional(),
});

// Percentiles are within 10% or 1 ms of the exact (nearest-rank) ones; null when no call of the range has them.
const ms = z.number().nullable();
const latencySchema = z.object({ count: z.number(), avg: ms, p50: ms, p95: ms, p99: ms, min: ms, max: ms });
const providerMetricsSchema = z.object({
  deployment: z.string(),
  provider: z.string(),
  total: z.number(),
  success: z.number(),
  failed: z.number(),
  failures: z.record(z.string(), z.number()),
  latency_ms: latencySchema,
});

/**
 * A route's figures over a day or the range, from the usage store: the jobs completed through it,
 * their tokens and spend (`route` "-" for jobs that named a deployment). A client key sees its own
 * jobs' only, as in GET /v1/usage: spend per route is one client's business.
 */
const routeMetricsSchema = z.object({
  route: z.string(),
  requests: z.number().int(),
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  cost_usd: z.number(),
});
const routeMetrics = ({ key, requests, prompt_tokens, completion_tokens, cost_usd }: UsageFigures & { key: string }) => ({
  route: key,
  requests,
  prompt_tokens,
  completion_tokens,
  cost_usd,
});

const workerSchema = z.object({
  id: z.string(),
  host: z.string(),
  pid: z.number().int(),
  concurrency: z.number().int(),
  active_jobs: z.number().int(),
  started_at: isoOrNull,
  last_heartbeat_at: isoOrNull,
  expires_at: isoOrNull,
  /** The fleet config the replica runs (GET /v1/config's hash); null for a worker too old to say. */
  config_hash: z.string().nullable(),
  /** Whether that is the config this API replica runs: false marks a replica on another version. */
  config_current: z.boolean(),
});

const booleanish = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((v) => v === 'true' || v === '1');

export function presentStatus(s: ProviderStatus): z.infer<typeof providerStatusSchema> {
  return {
    deployment: s.deployment,
    provider: s.provider,
    state: s.state,
    circuit: {
      state: s.circuit.state,
      consecutive_failures: s.circuit.consecutive_failures,
      opened_at: iso(s.circuit.opened_at),
      next_probe_at: iso(s.circuit.next_probe_at),
    },
    last_error: s.last_error ? { class: s.last_error.class, message: redactSecrets(s.last_error.message), at: iso(s.last_error.at) } : null,
    checked_at: iso(s.checked_at),
    cache_hit: s.cache_hit,
    cooldown_until: iso(s.cooldown_until),
    ...(s.credits ? { credits: s.credits } : {}),
  };
}

const statusAnswerSchema = z.object({ providers: z.array(providerStatusSchema), cache_hit: z.boolean(), generated_at: z.string() });

export default async function fleetRoutes(app: FastifyInstance) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const rendered = new WeakMap<ProviderStatus[], string>();
  let last: { statuses: Promise<ProviderStatus[]>; body: string } | undefined;
  /** The answer for one list of statuses, rendered once however many readers share the list. */
  const render = (statuses: ProviderStatus[]): string => {
    let body = rendered.get(statuses);
    if (body === undefined) {
      const answer = {
        providers: statuses.map(presentStatus),
        cache_hit: statuses.every((s) => s.cache_hit),
        generated_at: new Date().toISOString(),
      };
      body = JSON.stringify(statusAnswerSchema.parse(answer));
      rendered.set(statuses, body);
    }
    return body;
  };
  // Some readers degrade to empty answers when a command fails; an empty fleet is not the truth.
  // A callback hook: it never waits, and the status route answers thousands of requests a second.
  app.addHook('preHandler', (_request, _reply, done) => {
    if (app.ctx.redis.status !== 'ready') done(new RedisUnavailableError());
    else done();
  });

  r.get(
    '/v1/providers/status',
    {
      schema: {
        summary: 'Status of every enabled provider, cache-first; force_refresh=true probes now (one probe fleet-wide)',
        tags: ['fleet'],
        querystring: z.object({ force_refresh: booleanish }),
        response: { 200: statusAnswerSchema, 400: errorSchema },
      },
    },
    (request, reply) => {
      const pending = app.ctx.state.getStatus({ forceRefresh: request.query.force_refresh });
      // The state store hands every reader within its memo time the same promise: once it has been
      // rendered, its readers are answered at once, without a promise of their own.
      if (last?.statuses === pending) {
        reply.type('application/json; charset=utf-8').send(last.body as never);
        return;
      }
      return pending.then((statuses) => {
        const body = render(statuses);
        last = { statuses: pending, body };
        // A string goes out as it is: the schema's serializer runs only for objects.
        reply.type('application/json; charset=utf-8').send(body as never);
      });
    },
  );

  r.get(
    '/v1/metrics',
    {
      schema: {
        summary: `Daily per-deployment totals, successes, failures by class and latency, and per-route jobs, tokens and spend (1 to ${DAILY_RETENTION_DAYS} days)`,
        description: "`routes` and each day's `routes`: jobs completed through each route; a client key sees its own jobs' only.",
        tags: ['fleet'],
        querystring: z.object({ days: z.coerce.number().int().min(1).max(DAILY_RETENTION_DAYS).default(7) }),
        response: {
          200: z.object({
            days: z.number().int(),
            from: z.string(),
            to: z.string(),
            daily: z.array(z.object({ date: z.string(), providers: z.array(providerMetricsSchema), routes: z.array(routeMetricsSchema) })),
            totals: z.array(providerMetricsSchema),
            routes: z.array(routeMetricsSchema),
          }),
          400: errorSchema,
        },
      },
    },
    async (request) => {
      const { days } = request.query;
      // Unauthenticated requests reach this only on an API without keys: one anonymous client, nothing to hide.
      const own = request.authenticated && !request.operator ? request.clientName : undefined;
      const [metrics, usage] = await Promise.all([
        app.ctx.state.readDailyMetrics(days),
        app.ctx.state.usage.readDays(days, { groupBy: 'route', client: own }),
      ]);
      return {
        ...metrics,
        daily: metrics.daily.map((day) => ({
          ...day,
          routes: usage.rows.filter((row) => row.date === day.date).map(routeMetrics),
        })),
        routes: usage.totals.map(routeMetrics),
      };
    },
  );

  r.get(
    '/v1/workers',
    {
      schema: {
        summary: 'Live worker replicas: id, host, pid, concurrency, active jobs, last heartbeat, the config each runs',
        tags: ['fleet'],
        response: { 200: z.object({ count: z.number().int(), workers: z.array(workerSchema) }) },
      },
    },
    async () => {
      const workers = await app.ctx.state.listWorkers();
      const hash = app.ctx.fleet.hash;
      return {
        count: workers.length,
        workers: workers.map((w) => ({
          id: w.id,
          host: w.host,
          pid: w.pid,
          concurrency: w.concurrency,
          active_jobs: w.active_jobs,
          started_at: iso(w.started_at),
          last_heartbeat_at: iso(w.last_heartbeat_at),
          expires_at: iso(w.expires_at),
          config_hash: w.config_hash ?? null,
          config_current: w.config_hash === hash,
        })),
      };
    },
  );
}
