/**
 * Owns GET /metrics (Prometheus text format): this process's figures from prom-client (Node.js
 * process metrics, HTTP requests by route template and status, open streams, waiting requests)
 * followed by the fleet-wide figures from Redis (provider calls by outcome, latency histograms,
 * recent latency percentiles, circuits and cooldowns from the state store; queue depth by state;
 * live workers). Labels are route templates, methods, status codes, provider names, outcomes and
 * states: never a URL, a key or anything a client typed. While Redis is down the process figures
 * are still served, with switchyard_fleet_scrape_success 0.
 */
import { countersToPrometheus, usageToPrometheus } from '@switchyard/state';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

const QUEUE_STATES = ['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'] as const;
const FLEET_DEADLINE_MS = 2_000;

async function prometheusRoutes(app: FastifyInstance) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'switchyard_api_http_requests_total',
    help: 'HTTP requests answered by this API process, by method, route template and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'switchyard_api_http_request_duration_seconds',
    help: 'Time to answer HTTP requests in this API process (streams excluded), by method and route template.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const ctx = app.ctx;
  new Gauge({
    name: 'switchyard_api_open_streams',
    help: 'Server-Sent Event streams open in this API process.',
    registers: [registry],
    collect() {
      this.set(app.sse.size);
    },
  });
  new Gauge({
    name: 'switchyard_api_waiting_requests',
    help: 'Jobs this API process has requests waiting on (long-poll, SSE, OpenAI facade).',
    registers: [registry],
    collect() {
      this.set(ctx.hub.waiting);
    },
  });

  const routeOf = (request: FastifyRequest) => request.routeOptions.url ?? 'unmatched';
  // The labelled children, made once per label set: prom-client hashes a label object on every
  // inc/observe otherwise. Route templates, methods and statuses are few, so these stay small.
  const counted = new Map<string, { inc(): void }>();
  const timed = new Map<string, { observe(seconds: number): void }>();
  // A callback hook: a promise per request would buy nothing here.
  app.addHook('onResponse', (request, reply, done) => {
    const route = routeOf(request);
    const method = request.method;
    const timedKey = `${method} ${route}`;
    const countedKey = `${timedKey} ${reply.statusCode}`;
    let count = counted.get(countedKey);
    if (!count) {
      count = requests.labels({ method, route, status_code: String(reply.statusCode) });
      counted.set(countedKey, count);
    }
    count.inc();
    let time = timed.get(timedKey);
    if (!time) {
      time = duration.labels({ method, route });
      timed.set(timedKey, time);
    }
    time.observe(reply.elapsedTime / 1000);
    done();
  });

  app.get(
    '/metrics',
    {
      // The whole fleet's figures: an operator's view (ADMIN_API_KEYS), like the dashboard.
      onRequest: app.requireOperator,
      schema: { summary: 'Prometheus text format: process figures and fleet-wide figures from Redis', tags: ['fleet'] },
    },
    async (_request, reply) => {
      const [own, fleet] = await Promise.all([registry.metrics(), fleetMetrics(app)]);
      reply.type(registry.contentType);
      return `${own.trimEnd()}\n${fleet}`;
    },
  );
}

async function fleetMetrics(app: FastifyInstance): Promise<string> {
  const { state, jobs } = app.ctx;
  let timer: NodeJS.Timeout | undefined;
  try {
    const [counters, queue, workers, usage] = await Promise.race([
      Promise.all([state.readCounters(), jobs.queue.getJobCounts(...QUEUE_STATES), state.listWorkers(), state.usage.readCounters()]),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('fleet figures timed out')), FLEET_DEADLINE_MS);
      }),
    ]);
    const lines = [
      '# HELP switchyard_fleet_scrape_success Whether the fleet-wide figures could be read from Redis (1) or not (0).',
      '# TYPE switchyard_fleet_scrape_success gauge',
      'switchyard_fleet_scrape_success 1',
      '# HELP switchyard_queue_jobs Jobs on the queue by state, fleet-wide.',
      '# TYPE switchyard_queue_jobs gauge',
      ...QUEUE_STATES.map((s) => `switchyard_queue_jobs{state="${s}"} ${queue[s] ?? 0}`),
      '# HELP switchyard_workers_live Worker replicas with a live heartbeat.',
      '# TYPE switchyard_workers_live gauge',
      `switchyard_workers_live ${workers.length}`,
      '# HELP switchyard_workers_active_jobs Jobs in flight across live workers, as they last reported.',
      '# TYPE switchyard_workers_active_jobs gauge',
      `switchyard_workers_active_jobs ${workers.reduce((sum, w) => sum + w.active_jobs, 0)}`,
    ];
    return `${lines.join('\n')}\n${countersToPrometheus(counters)}${usageToPrometheus(usage)}`;
  } catch (err) {
    app.log.warn({ err: { message: (err as Error).message } }, 'fleet metrics unavailable');
    return [
      '# HELP switchyard_fleet_scrape_success Whether the fleet-wide figures could be read from Redis (1) or not (0).',
      '# TYPE switchyard_fleet_scrape_success gauge',
      'switchyard_fleet_scrape_success 0',
      '',
    ].join('\n');
  } finally {
    clearTimeout(timer);
  }
}

/** Wrapped so its onResponse hook sees every route of the app; register it before the routes. */
export default fp(prometheusRoutes, { name: 'switchyard-prometheus' });
