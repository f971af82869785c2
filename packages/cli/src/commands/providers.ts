/**
 * Owns `switchyard providers`: every provider's state and circuit from GET /v1/providers/status
 * (with --refresh: ?force_refresh=true, a probe now), as a table or JSON.
 */
import { COMMON_HELP, clientFrom, parseCommand } from '../config.ts';
import { formatDuration, printJson, stdout, table } from '../output.ts';

export const PROVIDERS_HELP = `Usage: switchyard providers [--refresh]

Shows every enabled provider: state, circuit, consecutive failures, time to the next probe of an
open circuit, the last error and when it was checked.
  --refresh   probe now instead of serving the status cache (single-flight across the fleet)

${COMMON_HELP}`;

interface ProviderRow {
  provider: string;
  state: string;
  circuit?: { state?: string; consecutive_failures?: number; next_probe_at?: number | string | null };
  last_error?: { class?: string; message?: string } | null;
  checked_at?: number | string | null;
  cache_hit?: boolean;
}

function epoch(value: number | string | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const ms = typeof value === 'number' ? value : Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}

export function providerRows(body: unknown): ProviderRow[] {
  if (Array.isArray(body)) return body as ProviderRow[];
  const b = body as { providers?: unknown; data?: unknown } | null;
  if (Array.isArray(b?.providers)) return b.providers as ProviderRow[];
  if (Array.isArray(b?.data)) return b.data as ProviderRow[];
  return [];
}

export async function providersCommand(args: string[]): Promise<number> {
  const { values } = parseCommand(args, { refresh: { type: 'boolean', default: false } });
  if (values.help) {
    stdout(PROVIDERS_HELP);
    return 0;
  }
  const body = await clientFrom(values).providers(values.refresh);
  if (values.json) {
    printJson(body);
    return 0;
  }
  const now = Date.now();
  const rows = providerRows(body).map((p) => {
    const nextProbe = epoch(p.circuit?.next_probe_at);
    const checked = epoch(p.checked_at);
    return [
      p.provider,
      p.state,
      p.circuit?.state ?? '-',
      String(p.circuit?.consecutive_failures ?? 0),
      nextProbe && p.circuit?.state !== 'closed' ? (nextProbe > now ? `in ${formatDuration(nextProbe - now)}` : 'due') : '-',
      checked ? `${formatDuration(now - checked)} ago${p.cache_hit ? ' (cached)' : ''}` : 'never',
      p.last_error ? `${p.last_error.class}: ${p.last_error.message ?? ''}`.slice(0, 80) : '-',
    ];
  });
  stdout(
    rows.length > 0
      ? table(['PROVIDER', 'STATE', 'CIRCUIT', 'FAILS', 'NEXT PROBE', 'CHECKED', 'LAST ERROR'], rows)
      : 'no provider is enabled',
  );
  return 0;
}
