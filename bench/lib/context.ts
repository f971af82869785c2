/**
 * What every benchmark module gets from bench/run.ts: the run's size, its Redis, fresh namespaces
 * (deleted at the end of the run), a logger to stderr, and a place to share expensive fixtures
 * (a started worker fleet) between benchmarks of the same run.
 */
import { randomBytes } from 'node:crypto';
import type { BenchRedis } from './redis.ts';

export type Size = 'tiny' | 'quick' | 'full';

export interface Shared {
  /** Stops whatever it holds; called once at the end of the run. */
  close(): Promise<void>;
}

export interface BenchContext {
  size: Size;
  redis: BenchRedis;
  /** A namespace unique to this run and label, e.g. `b1ours3f2a`; deleted from Redis at the end. */
  namespace(label: string): string;
  log(message: string): void;
  /** Fixtures shared between benchmarks (keyed by name), closed at the end of the run. */
  shared: Map<string, Shared>;
  /** Measurements one benchmark leaves for another of the same run (B1's 1-process drains for B7). */
  memo: Map<string, unknown>;
}

export function createContext(size: Size, redis: BenchRedis, log: (message: string) => void): BenchContext & { namespaces: string[] } {
  const runTag = randomBytes(3).toString('hex');
  const namespaces: string[] = [];
  return {
    size,
    redis,
    namespaces,
    shared: new Map(),
    memo: new Map(),
    log,
    namespace(label: string) {
      const ns = `bn${runTag}${label.replace(/[^A-Za-z0-9]/g, '').slice(0, 16)}${randomBytes(2).toString('hex')}`;
      namespaces.push(ns);
      return ns;
    },
  };
}

/** Picks the parameters for the run's size. */
export function bySize<T>(size: Size, table: Record<Size, T>): T {
  return table[size];
}
