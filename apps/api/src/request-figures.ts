/**
 * Owns this process's HTTP figures for GET /metrics: requests by method, route template and status,
 * and the time to answer them by method and route template, counted in plain numbers per route and
 * handed to prom-client's registry as two metrics it reads at scrape time.
 * Why not prom-client's Counter and Histogram: their labelled children check and hash the labels on
 * every inc and observe, and the route template came from `request.routeOptions`, a new object per
 * read. Together they were the largest part of our own code in the CPU profile of a cached
 * `GET /v1/providers/status` (bench/README.md, B4). Here each route gets an `onResponse` hook of its
 * own that already knows its template (onRoute), so a request costs a few additions.
 * Labels stay what they were: route templates (`unmatched` for a 404), methods and status codes.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, onResponseHookHandler, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import type { Registry } from 'prom-client';

export const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;

const REQUESTS = {
  name: 'switchyard_api_http_requests_total',
  help: 'HTTP requests answered by this API process, by method, route template and status code.',
};
const DURATION = {
  name: 'switchyard_api_http_request_duration_seconds',
  help: 'Time to answer HTTP requests in this API process (streams excluded), by method and route template.',
};

/** One method of one route template: answers by status, and the duration histogram. */
class RouteSeries {
  readonly byStatus = new Map<number, number>();
  /** Observations per bucket (not cumulative); the last slot is above every bound. */
  readonly buckets = new Float64Array(DURATION_BUCKETS.length + 1);
  sum = 0;
  count = 0;

  constructor(
    readonly method: string,
    readonly route: string,
  ) {}

  record(statusCode: number, seconds: number): void {
    this.byStatus.set(statusCode, (this.byStatus.get(statusCode) ?? 0) + 1);
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
    this.buckets[i]! += 1;
    this.sum += seconds;
    this.count += 1;
  }
}

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

export class RequestFigures {
  private readonly series = new Map<string, RouteSeries>();

  seriesFor(method: string, route: string): RouteSeries {
    const key = `${method} ${route}`;
    let series = this.series.get(key);
    if (!series) {
      series = new RouteSeries(method, route);
      this.series.set(key, series);
    }
    return series;
  }

  /** Puts both metrics in `registry`, in the shape prom-client's own counters and histograms give it. */
  register(registry: Registry): void {
    const all = () => [...this.series.values()];
    registry.registerMetric({
      ...REQUESTS,
      type: 'counter',
      aggregator: 'sum',
      get: async () => ({
        ...REQUESTS,
        type: 'counter',
        aggregator: 'sum',
        values: all().flatMap((s) =>
          [...s.byStatus].map(
            ([status, value]): MetricValue => ({ labels: { method: s.method, route: s.route, status_code: status }, value }),
          ),
        ),
      }),
      reset: () => {},
    } as never);
    registry.registerMetric({
      ...DURATION,
      type: 'histogram',
      aggregator: 'sum',
      get: async () => ({
        ...DURATION,
        type: 'histogram',
        aggregator: 'sum',
        values: all()
          .filter((s) => s.count > 0)
          .flatMap((s) => {
            const labels = { method: s.method, route: s.route };
            let cumulative = 0;
            const out: MetricValue[] = DURATION_BUCKETS.map((le, i) => {
              cumulative += s.buckets[i]!;
              return { labels: { le, ...labels }, value: cumulative, metricName: `${DURATION.name}_bucket` };
            });
            out.push(
              { labels: { le: '+Inf', ...labels }, value: s.count, metricName: `${DURATION.name}_bucket` },
              { labels, value: s.sum, metricName: `${DURATION.name}_sum` },
              { labels, value: s.count, metricName: `${DURATION.name}_count` },
            );
            return out;
          }),
      }),
      reset: () => {},
    } as never);
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    requestFigures: RequestFigures;
  }
}

/**
 * Counts every route registered after it (register it before the routes, docs included) through a
 * hook of the route's own, and requests no route matched through one app-wide hook that does
 * nothing else.
 */
async function requestFiguresPlugin(app: FastifyInstance) {
  const figures = new RequestFigures();
  app.decorate('requestFigures', figures);
  const recorder = (route: string, method: string | string[]): onResponseHookHandler => {
    if (!Array.isArray(method) || method.length === 1) {
      const series = figures.seriesFor(Array.isArray(method) ? method[0]! : method, route);
      return (_request, reply, done) => {
        series.record(reply.statusCode, reply.elapsedTime / 1000);
        done();
      };
    }
    return (request, reply, done) => {
      figures.seriesFor(request.method, route).record(reply.statusCode, reply.elapsedTime / 1000);
      done();
    };
  };
  app.addHook('onRoute', (route: RouteOptions) => {
    const existing = route.onResponse === undefined ? [] : Array.isArray(route.onResponse) ? route.onResponse : [route.onResponse];
    route.onResponse = [...existing, recorder(route.url, route.method)];
  });
  // A callback hook: a promise per request would buy nothing here.
  app.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    if (request.is404) figures.seriesFor(request.method, 'unmatched').record(reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
}

export default fp(requestFiguresPlugin, { name: 'switchyard-request-figures' });
