/**
 * Owns the dashboard's usage figures (GET /dashboard/api/usage): tokens and spend over the last
 * hour and the last 30 days, per route, deployment and client, read fleet-wide from the usage store.
 * An operator's view, like the rest of the dashboard's data.
 */
import type { UsageFigures, UsageGroup, UsageStore } from '@switchyard/state';

export const USAGE_BOARD_GROUPS = ['route', 'deployment', 'client'] as const satisfies readonly UsageGroup[];

export interface UsageBoardRow {
  key: string;
  hour: UsageFigures;
  month: UsageFigures;
}

export interface UsageBoard {
  at: number;
  groups: Record<(typeof USAGE_BOARD_GROUPS)[number], UsageBoardRow[]>;
}

const none = (): UsageFigures => ({ requests: 0, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0 });

export async function readUsageBoard(usage: UsageStore, now = Date.now()): Promise<UsageBoard> {
  const groups = await Promise.all(
    USAGE_BOARD_GROUPS.map(async (groupBy) => {
      const [hour, month] = await Promise.all([usage.readRecent(60, { groupBy }), usage.readDays(30, { groupBy })]);
      const byKey = new Map<string, UsageBoardRow>();
      // The 30 days hold the hour, so their order (most spent first) is the table's.
      for (const { key, ...figures } of month.totals) byKey.set(key, { key, hour: none(), month: figures });
      for (const { key, ...figures } of hour) {
        const row = byKey.get(key) ?? { key, hour: none(), month: none() };
        row.hour = figures;
        byKey.set(key, row);
      }
      return [groupBy, [...byKey.values()]] as const;
    }),
  );
  return { at: now, groups: Object.fromEntries(groups) as UsageBoard['groups'] };
}
