/**
 * Owns `switchyard watch <job>`: follows a job to its end over GET /v1/jobs/:id/events (state
 * changes on stderr, tokens on stdout as they stream), falling back to long-polling
 * GET /v1/jobs/:id?wait_ms= when the server has no event stream or the stream ends early.
 */
import type { JobView } from '@switchyard/shared';
import type { SwitchyardClient } from '../client.ts';
import { COMMON_HELP, clientFrom, parseCommand, UsageError } from '../config.ts';
import { isFinal, printJson, stderr, stdout, summaryLine } from '../output.ts';

export const WATCH_HELP = `Usage: switchyard watch <job-id> [--poll]

Follows a job until it is final: state changes on stderr, streamed tokens and the answer on
stdout. Exit 0 when it completes, 1 when it fails or is cancelled.
  --poll   long-poll instead of Server-Sent Events

${COMMON_HELP}`;

const POLL_WAIT_MS = 25_000;
const time = () => new Date().toISOString().slice(11, 19);

interface Watch {
  status: JobView['status'] | undefined;
  streamed: boolean;
  json: boolean;
}

function noteStatus(w: Watch, status: JobView['status']): void {
  if (status === w.status) return;
  w.status = status;
  if (!w.json) stderr(`[${time()}] ${status}`);
}

/** Follows the event stream; the final view, or null when the stream is unavailable or ends first. */
async function followEvents(client: SwitchyardClient, id: string, w: Watch): Promise<JobView | null> {
  const controller = new AbortController();
  try {
    const events = await client.events(id, controller.signal);
    if (!events) return null;
    for await (const { event, data } of events) {
      let payload: Record<string, unknown>;
      try {
        payload = JSON.parse(data) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (event === 'token' && typeof payload.delta === 'string') {
        if (!w.json) process.stdout.write(payload.delta);
        w.streamed = true;
      } else if (typeof payload.status === 'string') {
        const view = payload as unknown as JobView;
        if (isFinal(view.status)) return view;
        if (w.streamed && !w.json) process.stdout.write('\n');
        noteStatus(w, view.status);
      }
    }
    return null;
  } catch (err) {
    if ((err as Error).name === 'ApiError') throw err;
    return null; // a dropped stream: polling takes over
  } finally {
    controller.abort();
  }
}

export async function watchCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, { poll: { type: 'boolean', default: false } });
  if (values.help) {
    stdout(WATCH_HELP);
    return 0;
  }
  const [id] = positionals;
  if (!id || positionals.length > 1) throw new UsageError('watch takes exactly one job id. Fix: switchyard watch <job-id>');
  const client = clientFrom(values);
  const w: Watch = { status: undefined, streamed: false, json: values.json };

  let view = await client.job(id);
  if (!isFinal(view.status)) noteStatus(w, view.status);
  if (!isFinal(view.status) && !values.poll) view = (await followEvents(client, id, w)) ?? view;
  while (!isFinal(view.status)) {
    view = await client.job(id, POLL_WAIT_MS);
    if (!isFinal(view.status)) noteStatus(w, view.status);
  }
  if (view.status === 'completed' && !view.result) view = await client.waitFinal(id);

  if (values.json) printJson(view);
  else {
    if (w.streamed) process.stdout.write('\n');
    stderr(`[${time()}] ${summaryLine(view)}`);
    if (view.result && !w.streamed) stdout(view.result.content);
  }
  return view.status === 'completed' ? 0 : 1;
}
