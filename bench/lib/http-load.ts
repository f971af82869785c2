/**
 * Closed-loop HTTP load with autocannon (B2, B3's throughput half, B4): `connections` clients each
 * send their next request when the previous one answered, optionally paced to `overallRate`.
 * Every response time is collected from autocannon's per-response events, so percentiles are exact
 * over all requests (and over several target URLs: connections are spread across them round robin,
 * as a load balancer would).
 */
import autocannon from 'autocannon';
import { type LatencySummary, summarize } from './stats.ts';

export interface HttpLoadOptions {
  url: string | string[];
  method?: 'GET' | 'POST';
  body?: unknown;
  /** Bodies each connection sends in turn, instead of one `body` (built once, before the run). */
  bodies?: readonly unknown[];
  headers?: Record<string, string>;
  connections: number;
  durationS: number;
  overallRate?: number;
}

export interface HttpLoadResult {
  /** 2xx answers per second over the run. */
  okPerS: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  durationS: number;
  latency: LatencySummary;
  statusCounts: Record<string, number>;
}

export async function httpLoad(options: HttpLoadOptions): Promise<HttpLoadResult> {
  const latencies: number[] = [];
  const statusCounts: Record<string, number> = {};
  const instance = autocannon({
    url: options.url,
    method: options.method ?? 'GET',
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    ...(options.bodies ? { requests: options.bodies.map((b) => ({ body: JSON.stringify(b) })) } : {}),
    headers: { 'content-type': 'application/json', ...options.headers },
    connections: options.connections,
    pipelining: 1,
    duration: options.durationS,
    timeout: 30,
    ...(options.overallRate ? { overallRate: options.overallRate } : {}),
  });
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    statusCounts[statusCode] = (statusCounts[statusCode] ?? 0) + 1;
    if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
  });
  const result = await instance;
  const durationS = Math.max(0.001, (result.finish.getTime() - result.start.getTime()) / 1000);
  return {
    okPerS: latencies.length / durationS,
    ok: latencies.length,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    durationS,
    latency: summarize(latencies),
    statusCounts,
  };
}
