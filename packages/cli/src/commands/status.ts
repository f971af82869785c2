/** Owns `switchyard status <job>`: one read of a job (or a long-poll with --wait <ms>), printed. */
import { COMMON_HELP, clientFrom, parseCommand, UsageError } from '../config.ts';
import { printJson, stdout, summaryLine } from '../output.ts';

export const STATUS_HELP = `Usage: switchyard status <job-id> [--wait <ms>]

Prints a job's state, and its answer or error once it has one.
  --wait <ms>   long-poll up to this long for a final state (GET /v1/jobs/:id?wait_ms=)

${COMMON_HELP}`;

export async function statusCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, { wait: { type: 'string' } });
  if (values.help) {
    stdout(STATUS_HELP);
    return 0;
  }
  const [id] = positionals;
  if (!id || positionals.length > 1) throw new UsageError('status takes exactly one job id. Fix: switchyard status <job-id>');
  const wait = values.wait === undefined ? 0 : Number(values.wait);
  if (!Number.isInteger(wait) || wait < 0 || wait > 60_000) throw new UsageError('--wait must be 0-60000 milliseconds');
  const view = await clientFrom(values).job(id, wait);
  if (values.json) {
    printJson(view);
    return 0;
  }
  stdout(summaryLine(view));
  if (view.created_at) stdout(`created   ${view.created_at}`);
  if (view.finished_at) stdout(`finished  ${view.finished_at}`);
  if (view.result) stdout(`\n${view.result.content}`);
  return 0;
}
