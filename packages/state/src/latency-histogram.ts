/**
 * Owns the latency histogram of the metrics hashes (DESIGN.md section 6): the log-spaced bucket
 * layout, the hash fields it lives in, merging hashes, quantile estimation, and the coarser
 * cumulative buckets GET /metrics exposes.
 *
 * Error bound. Bucket i holds latencies in (BOUNDS[i-1], BOUNDS[i]]; successive bounds differ by
 * a factor of at most 1.096 from 0.1 ms to 60 s (157 bounds). The estimator aims at the nearest-rank quantile
 * (the ceil(q * n)-th smallest call): it finds the bucket holding that call and answers a point of
 * the same bucket, so it is off by less than the bucket's width, under 10% of the exact value
 * (below 0.1 ms the width is 0.1 ms). Interpolation is geometric, which suits log buckets, and
 * clamped to the hash's observed minimum and maximum (`lat_min`, `lat_max`): three calls of 1 ms
 * answer about 1 ms. Past 60 s (the unbounded bucket) the bound no longer holds: the estimate
 * then lies between 60 s and the slowest call.
 *
 * Fields: `lat_log:<upper bound ms>` and `lat_log:inf` (counts; only buckets hit are stored, so a
 * hash holds a few dozen of them at most), `lat_min`, `lat_max` (ms, written by the
 * metrics-extremes script so concurrent writers never lose the extreme).
 *
 * Older data: the previous layout (`lat_le:<ms>`, 11 coarse buckets from 50 ms) is not used for
 * quantiles: a count "somewhere in 0-50 ms" cannot yield a percentile within the bound, so hashes
 * written only by older code answer null percentiles rather than a guess (their call counts and
 * averages still count). GET /metrics does add those counts to its cumulative buckets at and above
 * their own bounds, which are all among its `le` values: the Prometheus counters stay monotonic and
 * their +Inf bucket equals their count.
 */

/** Upper bounds of one decade, x1: ratios at most 1.096, and 1, 2, 2.5, 3, 5, 6 among them (the Prometheus bounds). */
const DECADE = [
  1, 1.09, 1.19, 1.3, 1.41, 1.54, 1.68, 1.83, 2, 2.15, 2.32, 2.5, 2.74, 3, 3.27, 3.56, 3.87, 4.22, 4.59, 5, 5.48, 6, 6.53, 7.11, 7.74, 8.43,
  9.18,
];
const LOWEST_BOUND_MS = 0.1;
const HIGHEST_BOUND_MS = 60_000;

function buildBounds(): number[] {
  const bounds: number[] = [];
  for (let exponent = -1; ; exponent++) {
    for (const mantissa of DECADE) {
      // Parsed from text, so 1.09e-1 is the double nearest 0.109, not 1.09 * 0.1.
      const bound = Number(`${mantissa}e${exponent}`);
      if (bound < LOWEST_BOUND_MS) continue;
      bounds.push(bound);
      if (bound >= HIGHEST_BOUND_MS) return bounds;
    }
  }
}

/** Upper bounds (ms) of the latency buckets, 0.1 ms to 60 s; one more, unbounded, bucket follows. */
export const LATENCY_BOUNDS_MS: readonly number[] = Object.freeze(buildBounds());
/** Number of buckets, the unbounded one included. */
export const LATENCY_BUCKET_COUNT = LATENCY_BOUNDS_MS.length + 1;

const BUCKET_PREFIX = 'lat_log:';
const BUCKET_FIELDS: readonly string[] = [...LATENCY_BOUNDS_MS.map((b) => `${BUCKET_PREFIX}${b}`), `${BUCKET_PREFIX}inf`];
const BUCKET_OF_FIELD = new Map(BUCKET_FIELDS.map((field, i) => [field, i]));
export const LATENCY_MIN_FIELD = 'lat_min';
export const LATENCY_MAX_FIELD = 'lat_max';

/** The previous layout's bounds: read only for GET /metrics (see the top comment). */
const LEGACY_BOUNDS_MS = [50, 100, 250, 500, 1000, 2500, 5000, 10_000, 20_000, 30_000, 60_000] as const;
const LEGACY_PREFIX = 'lat_le:';

/**
 * The `le` bounds (ms) of GET /metrics. A Prometheus histogram costs one series per bound and label
 * set, so it gets a fixed 1-2.5-5 subset of the fine bounds (the same as before from 50 ms up, so
 * existing queries keep working, plus finer ones for fast providers). histogram_quantile() over
 * them interpolates linearly and cannot be held to the 10% bound, so GET /metrics also carries
 * recent percentiles from the fine buckets (switchyard_provider_latency_recent_seconds), as
 * /v1/metrics and the dashboard do.
 */
export const PROMETHEUS_BOUNDS_MS = [0.5, 1, 2.5, 5, 10, 25, ...LEGACY_BOUNDS_MS] as const;
for (const bound of PROMETHEUS_BOUNDS_MS) {
  if (!LATENCY_BOUNDS_MS.includes(bound)) throw new Error(`Prometheus bound ${bound} ms is not a histogram bound`);
}

/** Index of the bucket a latency falls in (binary search: the first bound at or above it). */
export function bucketIndex(latencyMs: number): number {
  let lo = 0;
  let hi = LATENCY_BOUNDS_MS.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((LATENCY_BOUNDS_MS[mid] as number) < latencyMs) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function bucketFieldOf(latencyMs: number): string {
  return BUCKET_FIELDS[bucketIndex(latencyMs)] as string;
}

/** Stored extremes keep microseconds: finer than any bound, short to read in redis-cli. */
export function roundLatency(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** One or more hashes' latency histograms, merged. */
export interface LatencyHistogram {
  /** Per bucket of LATENCY_BOUNDS_MS, the unbounded one last. */
  counts: number[];
  /** Observed extremes (ms); null when no hash read had them. */
  min: number | null;
  max: number | null;
  /** Counts in the previous layout, per LEGACY_BOUNDS_MS and one unbounded: GET /metrics only. */
  legacy: number[];
}

export function emptyHistogram(): LatencyHistogram {
  return { counts: new Array(LATENCY_BUCKET_COUNT).fill(0), min: null, max: null, legacy: new Array(LEGACY_BOUNDS_MS.length + 1).fill(0) };
}

/**
 * Merges one hash field into `into` if it is a histogram field (sum of counts, min of minimums,
 * max of maximums); false when it is not one. Malformed values are skipped, never thrown.
 */
export function mergeLatencyField(into: LatencyHistogram, field: string, value: string): boolean {
  if (field === LATENCY_MIN_FIELD || field === LATENCY_MAX_FIELD) {
    const ms = Number(value);
    if (!Number.isFinite(ms) || ms < 0) return true;
    if (field === LATENCY_MIN_FIELD) into.min = into.min === null ? ms : Math.min(into.min, ms);
    else into.max = into.max === null ? ms : Math.max(into.max, ms);
    return true;
  }
  const bucket = BUCKET_OF_FIELD.get(field);
  const legacy = bucket === undefined && field.startsWith(LEGACY_PREFIX) ? legacyIndex(field.slice(LEGACY_PREFIX.length)) : -1;
  if (bucket === undefined && legacy < 0) return field.startsWith(BUCKET_PREFIX) || field.startsWith(LEGACY_PREFIX);
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) return true;
  if (bucket !== undefined) into.counts[bucket] = (into.counts[bucket] ?? 0) + n;
  else into.legacy[legacy] = (into.legacy[legacy] ?? 0) + n;
  return true;
}

function legacyIndex(bound: string): number {
  return bound === 'inf' ? LEGACY_BOUNDS_MS.length : LEGACY_BOUNDS_MS.indexOf(Number(bound) as never);
}

/**
 * The q-quantile (0 < q <= 1) of the calls in the histogram, in ms rounded to the microsecond;
 * null when it holds none. Finds the bucket holding the ceil(q * n)-th call, narrows it to the
 * observed [min, max], and interpolates geometrically by the rank's place among the bucket's calls
 * (linearly when the range starts at 0).
 */
export function latencyQuantile(h: LatencyHistogram, q: number): number | null {
  const total = h.counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  let index = h.counts.length - 1;
  for (let i = 0; i < h.counts.length; i++) {
    const n = h.counts[i] ?? 0;
    if (n > 0 && below + n >= rank) {
      index = i;
      break;
    }
    below += n;
  }
  const inBucket = h.counts[index] ?? 0;
  let lower = index === 0 ? 0 : (LATENCY_BOUNDS_MS[index - 1] as number);
  let upper = LATENCY_BOUNDS_MS[index] ?? Number.POSITIVE_INFINITY;
  // Extremes that contradict the bucket (hashes merged with and without them) narrow nothing.
  if (h.min !== null && h.min > lower && h.min <= upper) lower = h.min;
  if (h.max !== null && h.max < upper && h.max >= lower) upper = h.max;
  if (!Number.isFinite(upper)) return roundLatency(lower);
  const fraction = inBucket > 0 ? Math.min(1, Math.max(0, (rank - below) / inBucket)) : 1;
  const estimate = lower > 0 ? lower * (upper / lower) ** fraction : upper * fraction;
  return roundLatency(estimate);
}

/**
 * Cumulative counts at PROMETHEUS_BOUNDS_MS and +Inf, Prometheus style. Counts of the previous
 * layout join at their own bound and above (see the top comment).
 */
export function prometheusBuckets(h: LatencyHistogram): Array<{ le: number | '+Inf'; count: number }> {
  const out: Array<{ le: number | '+Inf'; count: number }> = [];
  let fine = 0;
  let next = 0;
  for (const le of PROMETHEUS_BOUNDS_MS) {
    while (next < LATENCY_BOUNDS_MS.length && (LATENCY_BOUNDS_MS[next] as number) <= le) fine += h.counts[next++] ?? 0;
    let legacy = 0;
    LEGACY_BOUNDS_MS.forEach((bound, i) => {
      if (bound <= le) legacy += h.legacy[i] ?? 0;
    });
    out.push({ le, count: fine + legacy });
  }
  const all = h.counts.reduce((a, b) => a + b, 0) + h.legacy.reduce((a, b) => a + b, 0);
  out.push({ le: '+Inf', count: all });
  return out;
}
