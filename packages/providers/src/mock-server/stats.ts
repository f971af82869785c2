/**
 * Owns the mock server's call accounting, which tests and benchmarks assert on, so it must be exact:
 * every provider call is counted once as received and ends exactly once as completed (response fully
 * written), abandoned (the client closed the connection first) or dropped (a reset/cut fault closed
 * it). inFlight is received minus those three.
 */

export interface CallCounters {
  received: number;
  inFlight: number;
  completed: number;
  abandoned: number;
  dropped: number;
  /** Calls a fault was applied to (any kind, including latency). */
  faulted: number;
  /** Calls that asked for a stream. */
  streamed: number;
}

export interface MockStats {
  total: CallCounters;
  byProvider: Record<string, CallCounters>;
  /** Chat calls only, keyed `provider/model`. */
  byModel: Record<string, CallCounters>;
  byEndpoint: Record<string, CallCounters>;
}

export type Ending = 'completed' | 'abandoned' | 'dropped';

const zero = (): CallCounters => ({ received: 0, inFlight: 0, completed: 0, abandoned: 0, dropped: 0, faulted: 0, streamed: 0 });

/** One call's handle: `end` counts the first ending only. */
export interface CallRecord {
  markFaulted(): void;
  markStreamed(): void;
  setModel(model: string): void;
  end(how: Ending): void;
  readonly ended: boolean;
}

export class StatsBook {
  private total = zero();
  private byProvider = new Map<string, CallCounters>();
  private byModel = new Map<string, CallCounters>();
  private byEndpoint = new Map<string, CallCounters>();

  begin(provider: string, endpoint: string): CallRecord {
    const buckets = [this.total, this.bucket(this.byProvider, provider), this.bucket(this.byEndpoint, `${provider}:${endpoint}`)];
    for (const b of buckets) {
      b.received += 1;
      b.inFlight += 1;
    }
    let ended = false;
    let faulted = false;
    let streamed = false;
    const book = this;
    return {
      markFaulted() {
        if (faulted) return;
        faulted = true;
        for (const b of buckets) b.faulted += 1;
      },
      markStreamed() {
        if (streamed) return;
        streamed = true;
        for (const b of buckets) b.streamed += 1;
      },
      setModel(model: string) {
        // Model is known after the body is read; bring the model bucket up to date with what happened so far.
        if (buckets.length > 3 || ended) return;
        const m = book.bucket(book.byModel, `${provider}/${model}`);
        m.received += 1;
        m.inFlight += 1;
        if (faulted) m.faulted += 1;
        if (streamed) m.streamed += 1;
        buckets.push(m);
      },
      end(how: Ending) {
        if (ended) return;
        ended = true;
        for (const b of buckets) {
          b.inFlight -= 1;
          b[how] += 1;
        }
      },
      get ended() {
        return ended;
      },
    };
  }

  snapshot(): MockStats {
    const copy = (m: Map<string, CallCounters>) => Object.fromEntries([...m].map(([k, v]) => [k, { ...v }]));
    return { total: { ...this.total }, byProvider: copy(this.byProvider), byModel: copy(this.byModel), byEndpoint: copy(this.byEndpoint) };
  }

  /** Zeroes the counters. Calls still open at the reset are forgotten: their endings count nowhere. */
  reset(): void {
    this.total = zero();
    this.byProvider.clear();
    this.byModel.clear();
    this.byEndpoint.clear();
  }

  private bucket(map: Map<string, CallCounters>, key: string): CallCounters {
    let b = map.get(key);
    if (!b) {
      b = zero();
      map.set(key, b);
    }
    return b;
  }
}
