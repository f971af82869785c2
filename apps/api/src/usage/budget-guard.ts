/**
 * Owns client budgets at intake (CONTRACT.md, "Usage, spend and client budgets"): before a job is
 * queued on any face (POST /v1/jobs, /v1/jobs/batch, /v1/chat/completions, /v1/responses), a
 * client of the fleet config with `daily_usd` or `monthly_usd` has its spend so far checked against
 * them in one atomic step across the fleet (UsageStore.checkBudget, a Lua script). Over a cap: 429
 * `budget_exceeded`, with retry-after until the UTC reset of the period that is exhausted. The body
 * has OpenAI's error shape (message, type, param, code), so the facades' SDK clients raise their
 * RateLimitError. Spend is counted as jobs end, so a job already running when a cap is crossed
 * finishes and is counted; concurrent requests overshoot by at most what is in flight.
 * The check is asked through a BudgetGate (one script per client per event-loop turn), and the hook
 * sits on the intake routes alone. The caps follow the running config (a reload that raises or adds
 * one applies from the next request); a client without caps costs one map lookup, no promise.
 */
import type { ClientConfig } from '@switchyard/shared';
import type { BudgetLimits, BudgetVerdict, UsageStore } from '@switchyard/state';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, preHandlerHookHandler, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../plugins/errors.ts';
import { BudgetGate } from './budget-gate.ts';

/** The routes that queue jobs: every face of intake. */
export const INTAKE_ROUTES: ReadonlySet<string> = new Set(['/v1/jobs', '/v1/jobs/batch', '/v1/chat/completions', '/v1/responses']);

export interface BudgetGuardOptions {
  /** The running config's clients. */
  clients: () => readonly ClientConfig[];
  usage: UsageStore;
  now?: () => number;
}

/** Client name -> its caps, for the clients that have any. */
export function budgetsOf(clients: readonly ClientConfig[]): Map<string, BudgetLimits> {
  const out = new Map<string, BudgetLimits>();
  for (const c of clients) {
    if (c.dailyUsd !== undefined || c.monthlyUsd !== undefined) out.set(c.name, { dailyUsd: c.dailyUsd, monthlyUsd: c.monthlyUsd });
  }
  return out;
}

const dollars = (usd: number) => `$${usd.toFixed(usd < 1 ? 4 : 2)}`;

/** The error a refused request gets: 429 in our envelope, which is also OpenAI's error shape. */
export function budgetExceeded(client: string, verdict: Extract<BudgetVerdict, { allowed: false }>, now: number): ApiError {
  const daily = verdict.period === 'day';
  const resetsAt = new Date(verdict.resetAt).toISOString();
  const error = new ApiError(
    429,
    'budget_exceeded',
    `Client "${client}" has spent ${dollars(verdict.spentUsd)} of its ${daily ? 'daily' : 'monthly'} budget of ${dollars(verdict.limitUsd)}. Jobs are accepted again at ${resetsAt} (UTC ${daily ? 'midnight' : 'month start'}). Fix: wait, or raise ${daily ? 'daily_usd' : 'monthly_usd'} for this client in the fleet config.`,
    {
      code: 'budget_exceeded',
      client,
      period: verdict.period,
      limit_usd: verdict.limitUsd,
      spent_usd: verdict.spentUsd,
      resets_at: resetsAt,
    },
    { 'retry-after': String(Math.max(1, Math.ceil((verdict.resetAt - now) / 1000))) },
  );
  error.logAs = {
    msg: 'client budget exceeded',
    fields: { client, period: verdict.period, limitUsd: verdict.limitUsd, spentUsd: verdict.spentUsd },
  };
  return error;
}

async function budgetGuard(app: FastifyInstance, options: BudgetGuardOptions) {
  const now = options.now ?? Date.now;
  const gate = new BudgetGate(options.usage);
  let clients = options.clients();
  let budgets = budgetsOf(clients);
  /** The running config's caps: rebuilt only when a reload replaced the clients. */
  const capsOf = (name: string): BudgetLimits | undefined => {
    const current = options.clients();
    if (current !== clients) {
      clients = current;
      budgets = budgetsOf(current);
    }
    return budgets.get(name);
  };
  // A callback hook: most requests have no caps and must not pay for a promise.
  const guard = (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
    const limits = capsOf(request.clientName);
    if (!limits) return done();
    gate.check(request.clientName, limits).then(
      (verdict) => (verdict.allowed ? done() : done(budgetExceeded(request.clientName, verdict, now()))),
      (err: Error) => done(err),
    );
  };
  // After validation (preHandler): a malformed request is a 400 whatever the budget says. Only the
  // intake routes get the hook, so no other request pays for it.
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!methods.includes('POST') || !INTAKE_ROUTES.has(route.url)) return;
    const existing = route.preHandler === undefined ? [] : Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler];
    route.preHandler = [...existing, guard as preHandlerHookHandler];
  });
}

export default fp(budgetGuard, { name: 'switchyard-budget-guard', dependencies: ['switchyard-auth', 'switchyard-errors'] });
