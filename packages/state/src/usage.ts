/**
 * Owns usage and spend in Redis (CONTRACT.md, "Usage, spend and client budgets"): what every
 * finished job used, counted per UTC day (30 days readable), per minute (the dashboard's last
 * hour) and in lifetime totals (Prometheus), and each client's spend per UTC day and month, which
 * the budget check reads in one atomic step (lua/budget-check-2.lua).
 *
 * One hash field per combination of client, route, deployment and model, so any grouping (and a
 * client's own slice of it) is a sum on read, and a job costs the same few HINCRBYs whatever is
 * asked later. Fields: `<json [client, route, deployment, model]>|<r|p|c|u>` for requests, prompt
 * tokens, completion tokens and micro-dollars. Money is whole micro-dollars: Redis adds integers
 * exactly. Every key carries the `{usage}` tag, so each script's keys share one slot.
 */
import type { RedisClient } from '@switchyard/shared';
import { epochMinute, type StateKeys, utcDate, utcMonth } from './keys.ts';
import type { ScriptRunner } from './scripts.ts';

export const USAGE_RETENTION_DAYS = 30;
export const USAGE_GROUPS = ['client', 'route', 'deployment', 'model'] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];
/** The key of a job that named no route (a `<deployment>/<model>` or `provider/model`). */
export const NO_ROUTE = '-';

const DAY_MS = 86_400_000;
/** Minute hashes outlive the dashboard's hour by a margin. */
const MINUTE_RETENTION_MS = 2 * 3_600_000;
const GROUP_INDEX: Record<UsageGroup, number> = { client: 0, route: 1, deployment: 2, model: 3 };

/** One finished job's usage, as the worker reports it. */
export interface UsageRecord {
  client: string;
  route?: string | undefined;
  deployment: string;
  model: string;
  promptTokens: number;
  completionTokens: number;
  /** Undefined when neither the vendor nor a configured price says what the job cost. */
  costMicros?: number | undefined;
  /** Epoch ms the job ended: the day, month and minute it counts in. */
  at: number;
  /** How many jobs this record sums (default 1): the worker adds up a combination's jobs per minute. */
  requests?: number | undefined;
}

export interface UsageFigures {
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
}

export interface UsageRow extends UsageFigures {
  date: string;
  key: string;
}

export interface UsageReport {
  days: number;
  from: string;
  to: string;
  rows: UsageRow[];
  totals: Array<UsageFigures & { key: string }>;
}

export interface UsageWindowQuery {
  groupBy: UsageGroup;
  /** Only this client's usage (a client key reading its own). */
  client?: string | undefined;
}

/** Lifetime jobs, tokens and cost of one deployment reached through one route (NO_ROUTE: none). */
export interface UsageCounter {
  deployment: string;
  route: string;
  /** Jobs completed (this deployment answered them). */
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
}

export interface BudgetLimits {
  dailyUsd?: number | undefined;
  monthlyUsd?: number | undefined;
}

export type BudgetVerdict =
  | { allowed: true }
  | { allowed: false; period: 'day' | 'month'; spentUsd: number; limitUsd: number; resetAt: number };

interface Sums {
  r: number;
  p: number;
  c: number;
  u: number;
}

const empty = (): Sums => ({ r: 0, p: 0, c: 0, u: 0 });
const figures = (s: Sums): UsageFigures => ({ requests: s.r, prompt_tokens: s.p, completion_tokens: s.c, cost_usd: s.u / 1_000_000 });
const micros = (usd: number | undefined) => (usd === undefined ? -1 : Math.round(usd * 1_000_000));

/** The start of the next UTC day and month after `now` (epoch ms): when a day's and a month's cap reset. */
export function budgetResets(now: number): { day: number; month: number } {
  const d = new Date(now);
  return {
    day: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1),
    month: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1),
  };
}

export class UsageStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: StateKeys,
    private readonly scripts: ScriptRunner,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * One job's usage and spend, each written at once (lua/usage-count-3.lua and lua/spend-add-2.lua).
   * Rejects when Redis does: callers decide whether that matters. The worker calls the two halves
   * itself: spend at once, usage summed over a few hundred milliseconds (usage-reporter.ts).
   */
  async record(record: UsageRecord): Promise<void> {
    const cost = Math.max(0, Math.round(record.costMicros ?? 0));
    await Promise.all([this.countUsage(record), cost > 0 ? this.addSpend(record.client, cost, record.at) : undefined]);
  }

  /**
   * Adds usage to the day's, the minute's and the lifetime counters: one job's, or the sum of
   * `requests` jobs of one combination that ended in the minute of `at`. Spend is not touched.
   */
  async countUsage(record: UsageRecord): Promise<void> {
    const at = record.at;
    const date = utcDate(at);
    const minute = epochMinute(at);
    const combo = JSON.stringify([record.client, record.route ?? NO_ROUTE, record.deployment, record.model]);
    const total = JSON.stringify([record.deployment, record.route ?? NO_ROUTE]);
    await this.scripts.run(
      'usage-count',
      [this.keys.usageDay(date), this.keys.usageMinute(minute), this.keys.usageTotal()],
      [
        combo,
        total,
        Math.max(1, Math.round(record.requests ?? 1)),
        Math.max(0, Math.round(record.promptTokens)),
        Math.max(0, Math.round(record.completionTokens)),
        Math.max(0, Math.round(record.costMicros ?? 0)),
        Date.parse(`${date}T00:00:00Z`) + (USAGE_RETENTION_DAYS + 1) * DAY_MS,
        (minute + 1) * 60_000 + MINUTE_RETENTION_MS,
      ],
    );
  }

  /** Adds a job's cost (micro-dollars, > 0) to its client's spend of the UTC day and month of `at`. */
  async addSpend(client: string, costMicros: number, at: number): Promise<void> {
    const resets = budgetResets(at);
    await this.scripts.run(
      'spend-add',
      [this.keys.spendDay(client, utcDate(at)), this.keys.spendMonth(client, utcMonth(at))],
      // Spend is kept a day past its period, so a check right at the reset still finds the old figure expire on its own.
      [Math.round(costMicros), resets.day + DAY_MS, resets.month + DAY_MS],
    );
  }

  /**
   * The budget check at intake, in one atomic step: whether `client` may start another job given
   * what it has spent this UTC day and month. A job already running when the cap is crossed
   * finishes and is counted; the next request is refused until the period resets.
   */
  async checkBudget(client: string, limits: BudgetLimits): Promise<BudgetVerdict> {
    if (limits.dailyUsd === undefined && limits.monthlyUsd === undefined) return { allowed: true };
    const now = this.now();
    const keys = [this.keys.spendDay(client, utcDate(now)), this.keys.spendMonth(client, utcMonth(now))];
    const [verdict, day, month] = (await this.scripts.run('budget-check', keys, [micros(limits.dailyUsd), micros(limits.monthlyUsd)])) as [
      number,
      number,
      number,
    ];
    if (verdict === 0) return { allowed: true };
    const resets = budgetResets(now);
    return verdict === 2
      ? { allowed: false, period: 'month', spentUsd: month / 1_000_000, limitUsd: limits.monthlyUsd ?? 0, resetAt: resets.month }
      : { allowed: false, period: 'day', spentUsd: day / 1_000_000, limitUsd: limits.dailyUsd ?? 0, resetAt: resets.day };
  }

  /** GET /v1/usage: the last `days` UTC days (today included), one row per day and key, and totals per key. */
  async readDays(days: number, query: UsageWindowQuery): Promise<UsageReport> {
    const n = Math.min(Math.max(1, Math.floor(days)), USAGE_RETENTION_DAYS);
    const today = Date.parse(`${utcDate(this.now())}T00:00:00Z`);
    const dates = Array.from({ length: n }, (_, i) => utcDate(today - (n - 1 - i) * DAY_MS));
    const hashes = await this.readHashes(dates.map((d) => this.keys.usageDay(d)));
    const rows: UsageRow[] = [];
    const totals = new Map<string, Sums>();
    dates.forEach((date, i) => {
      const byKey = aggregate(hashes[i] ?? {}, query);
      for (const [key, sums] of [...byKey].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        rows.push({ date, key, ...figures(sums) });
        add(totals, key, sums);
      }
    });
    return { days: n, from: dates[0] as string, to: dates[n - 1] as string, rows, totals: sortedTotals(totals) };
  }

  /** The last `minutes` minutes (the current one included), per key: the dashboard's last hour. */
  async readRecent(minutes: number, query: UsageWindowQuery): Promise<Array<UsageFigures & { key: string }>> {
    const last = epochMinute(this.now());
    const keys = Array.from({ length: Math.max(1, minutes) }, (_, i) => this.keys.usageMinute(last - i));
    const totals = new Map<string, Sums>();
    for (const hash of await this.readHashes(keys)) for (const [key, sums] of aggregate(hash, query)) add(totals, key, sums);
    return sortedTotals(totals);
  }

  /** Lifetime jobs, tokens and cost per deployment and route, fleet-wide: GET /metrics. */
  async readCounters(): Promise<UsageCounter[]> {
    const hash = await this.redis.hgetall(this.keys.usageTotal());
    const byPair = new Map<string, Sums>();
    for (const [field, value] of Object.entries(hash))
      addField(byPair, field, value, (combo) => (combo.length === 2 ? JSON.stringify(combo) : undefined));
    return [...byPair]
      .map(([pair, s]) => {
        const [deployment, route] = JSON.parse(pair) as [string, string];
        return { deployment, route, requests: s.r, prompt_tokens: s.p, completion_tokens: s.c, cost_usd: s.u / 1_000_000 };
      })
      .sort((a, b) => (a.deployment + a.route < b.deployment + b.route ? -1 : 1));
  }

  private async readHashes(keys: string[]): Promise<Array<Record<string, string>>> {
    const p = this.redis.pipeline();
    for (const key of keys) p.hgetall(key);
    const results = (await p.exec()) ?? [];
    return results.map(([err, value]) => {
      if (err) throw err;
      return (value ?? {}) as Record<string, string>;
    });
  }
}

/** Sums one hash's fields by the group's key, keeping only `client`'s when given. A malformed field is skipped, never thrown. */
function aggregate(hash: Record<string, string>, query: UsageWindowQuery): Map<string, Sums> {
  const out = new Map<string, Sums>();
  const index = GROUP_INDEX[query.groupBy];
  for (const [field, value] of Object.entries(hash)) {
    addField(out, field, value, (combo) => {
      if (combo.length !== 4) return undefined;
      if (query.client !== undefined && combo[0] !== query.client) return undefined;
      return combo[index];
    });
  }
  return out;
}

function addField(into: Map<string, Sums>, field: string, value: string, keyOf: (combo: string[]) => string | undefined): void {
  const figure = field.slice(-1) as keyof Sums;
  if (field.at(-2) !== '|' || !'rpcu'.includes(figure)) return;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) return;
  let combo: unknown;
  try {
    combo = JSON.parse(field.slice(0, -2));
  } catch {
    return;
  }
  if (!Array.isArray(combo) || !combo.every((part) => typeof part === 'string')) return;
  const key = keyOf(combo as string[]);
  if (key === undefined) return;
  let sums = into.get(key);
  if (!sums) {
    sums = empty();
    into.set(key, sums);
  }
  sums[figure] += n;
}

function add(into: Map<string, Sums>, key: string, sums: Sums): void {
  const to = into.get(key) ?? empty();
  to.r += sums.r;
  to.p += sums.p;
  to.c += sums.c;
  to.u += sums.u;
  into.set(key, to);
}

/** Most spent first, then most tokens, then by key: the order a reader scans for. */
function sortedTotals(totals: Map<string, Sums>): Array<UsageFigures & { key: string }> {
  return [...totals]
    .sort(([ka, a], [kb, b]) => b.u - a.u || b.p + b.c - (a.p + a.c) || (ka < kb ? -1 : ka > kb ? 1 : 0))
    .map(([key, sums]) => ({ key, ...figures(sums) }));
}
