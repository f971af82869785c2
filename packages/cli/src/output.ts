/**
 * Owns what the CLI prints: results on stdout (so they can be piped), everything else (progress,
 * hints, errors) on stderr; a job view as a few human lines; and plain aligned tables.
 */
import type { JobView } from '@switchyard/shared';

export const stdout = (text: string) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
export const stderr = (text: string) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
export const printJson = (value: unknown) => stdout(JSON.stringify(value, null, 2));

export function isFinal(status: JobView['status']): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}

/** One summary line: `<id>  completed  mock/echo via mock  12 ms  1 attempt`. */
export function summaryLine(view: JobView): string {
  const parts = [view.id, view.status];
  if (view.model) parts.push(view.model);
  if (view.result) {
    parts.push(`via ${view.result.provider}`, `${Math.round(view.result.latency_ms)} ms`, plural(view.result.attempts.length, 'attempt'));
    parts.push(`${view.result.usage.total_tokens} tokens`);
  }
  if (view.error) parts.push(`${view.error.class}${view.error.provider ? ` (${view.error.provider})` : ''}: ${view.error.message}`);
  return parts.join('  ');
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Columns padded to their widest cell; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
