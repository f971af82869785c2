/**
 * Owns `switchyard usage`: tokens and spend per UTC day from GET /v1/usage, grouped by client,
 * route, deployment or model, as a table (one line per day and key, then the totals) or JSON. A
 * client key sees its own usage only; an operator key sees every client's.
 */
import { COMMON_HELP, clientFrom, parseCommand, UsageError } from '../config.ts';
import { printJson, stdout, table } from '../output.ts';

const GROUPS = ['client', 'route', 'deployment', 'model'] as const;

export const USAGE_HELP = `Usage: switchyard usage [--days N] [--group-by client|route|deployment|model]

Tokens and spend of finished jobs per UTC day, fleet-wide (GET /v1/usage). A client key sees its
own usage only; an operator key (ADMIN_API_KEYS) sees every client.
  --days <n>         days back, today included: 1 to 30 (default 7)
  --group-by <what>  client (default), route, deployment or model

${COMMON_HELP}`;

interface Figures {
  key: string;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
}

export interface UsageBody {
  days: number;
  from: string;
  to: string;
  client?: string | null;
  rows: Array<Figures & { date: string }>;
  totals: Figures[];
}

const count = (n: number) => n.toLocaleString('en-US');
const usd = (n: number) => (n === 0 ? '$0' : n < 0.01 ? `$${n.toFixed(6)}` : `$${n.toFixed(2)}`);
const cells = (f: Figures) => [count(f.requests), count(f.prompt_tokens), count(f.completion_tokens), usd(f.cost_usd)];

/** The table `switchyard usage` prints: a line per day and key, then one TOTAL line per key. */
export function usageTable(body: UsageBody, groupBy: string): string {
  const header = ['DATE', groupBy.toUpperCase(), 'REQUESTS', 'PROMPT', 'COMPLETION', 'COST'];
  const rows = [...body.rows.map((r) => [r.date, r.key, ...cells(r)]), ...body.totals.map((t) => ['TOTAL', t.key, ...cells(t)])];
  const scope = body.client ? ` (client ${body.client})` : '';
  if (rows.length === 0) return `no usage from ${body.from} to ${body.to}${scope}`;
  return `${table(header, rows)}\n\n${body.from} to ${body.to} (UTC)${scope}`;
}

export async function usageCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, { days: { type: 'string' }, 'group-by': { type: 'string' } });
  if (values.help) {
    stdout(USAGE_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`usage takes no arguments, got "${positionals[0]}". Fix: switchyard usage --days 7`);
  const days = values.days === undefined ? 7 : Number(values.days);
  if (!Number.isInteger(days) || days < 1 || days > 30)
    throw new UsageError(`--days must be a whole number from 1 to 30, got "${values.days}"`);
  const groupBy = values['group-by'] ?? 'client';
  if (!(GROUPS as readonly string[]).includes(groupBy)) {
    throw new UsageError(`--group-by must be one of ${GROUPS.join(', ')}, got "${groupBy}"`);
  }
  const body = (await clientFrom(values).request<UsageBody>('GET', `/v1/usage?days=${days}&group_by=${groupBy}`)).body;
  if (values.json) {
    printJson(body);
    return 0;
  }
  stdout(usageTable(body, groupBy));
  return 0;
}
