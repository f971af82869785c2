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
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

const QUEUE_STATES = ['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'] as const;
const FLEET_DEADLINE_MS = 2_000;

async function prometheusRoutes(app: FastifyInstance) {
  const registry = new Registry();
  // The event-loop delay histogram samples the loop on a timer; prom-client's default of every 10 ms
  // woke an idle API process 100 times a second, more wake-ups than B4's 250 status requests a
  // second bring each process. Every 100 ms still catches a stall that spans a sample (bench/README.md, B4).
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });
  // Requests by route and their durations: counted per route as they are answered (request-figures.ts).
  app.requestFigures.register(registry);
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

export default fp(prometheusRoutes, { name: 'switchyard-prometheus', dependencies: ['switchyard-request-figures'] });
