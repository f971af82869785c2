/**
 * Owns asking the fleet whether a client may start another job, cheaply: the requests of one client
 * that arrive in the same turn of the event loop share one budget check (UsageStore.checkBudget,
 * one Lua script), sent once all of them have arrived. Sharing never loosens the budget: the
 * spend the script reads is read after every request of the batch arrived, exactly as if each had
 * sent its own check then. Under load a busy API answers dozens of requests per turn, so a client's
 * check costs a fraction of a round trip per request instead of one.
 */
import type { BudgetLimits, BudgetVerdict, UsageStore } from '@switchyard/state';

interface Batch {
  limits: BudgetLimits;
  waiters: Array<{ resolve: (verdict: BudgetVerdict) => void; reject: (err: unknown) => void }>;
}

export class BudgetGate {
  private readonly batches = new Map<string, Batch>();

  constructor(private readonly usage: Pick<UsageStore, 'checkBudget'>) {}

  check(client: string, limits: BudgetLimits): Promise<BudgetVerdict> {
    return new Promise((resolve, reject) => {
      let batch = this.batches.get(client);
      if (!batch) {
        batch = { limits, waiters: [] };
        this.batches.set(client, batch);
        // After this turn's I/O: every request of the client parsed in it has joined.
        setImmediate(() => this.flush(client));
      }
      batch.waiters.push({ resolve, reject });
    });
  }

  private flush(client: string): void {
    const batch = this.batches.get(client);
    if (!batch) return;
    this.batches.delete(client);
    this.usage.checkBudget(client, batch.limits).then(
      (verdict) => {
        for (const waiter of batch.waiters) waiter.resolve(verdict);
      },
      (err: unknown) => {
        for (const waiter of batch.waiters) waiter.reject(err);
      },
    );
  }
}
