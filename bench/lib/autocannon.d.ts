/** The part of autocannon 8's API the benchmarks use (the package ships no types). */
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  interface Options {
    url: string | string[];
    method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
    body?: string;
    headers?: Record<string, string>;
    /** Requests each connection sends in turn; each overrides the defaults above. */
    requests?: Array<{ method?: string; path?: string; body?: string; headers?: Record<string, string> }>;
    connections?: number;
    pipelining?: number;
    /** Seconds. */
    duration?: number;
    amount?: number;
    overallRate?: number;
    /** Seconds. */
    timeout?: number;
  }

  interface Summary {
    average: number;
    mean: number;
    stddev: number;
    min: number;
    max: number;
    p50: number;
    p90: number;
    p99: number;
    [key: string]: number;
  }

  interface Result {
    requests: Summary & { total: number; sent: number };
    latency: Summary;
    errors: number;
    timeouts: number;
    non2xx: number;
    duration: number;
    '2xx': number;
    start: Date;
    finish: Date;
  }

  interface Instance extends EventEmitter, PromiseLike<Result> {
    stop(): void;
  }

  function autocannon(options: Options): Instance;
  export default autocannon;
}
