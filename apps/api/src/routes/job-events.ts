/**
 * Owns GET /v1/jobs/:id/events, Server-Sent Events of one job: the current state first, then
 * `state` events as it changes and `token` events when it streams, ending with the final state
 * (result or error included). Heartbeat comments keep idle streams open. The subscription starts
 * before the job is read, so nothing between the read and the first event is lost.
 */
import { type JobDoneMessage, type JobEvent, type JobView, LightAbortController } from '@switchyard/shared';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { ANNOUNCED_RECHECK_MS, isFinal } from '../jobs/job-service.ts';
import { jobNotFound } from '../jobs/ownership.ts';
import { errorSchema, jobParams } from './schemas.ts';

export const EVENTS_HEARTBEAT_MS = 15_000;
/** A stream ends after this long even if its job never finishes; the client may reconnect. */
export const EVENTS_MAX_MS = 15 * 60_000;

export default async function jobEventRoutes(app: FastifyInstance) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    '/v1/jobs/:id/events',
    {
      schema: {
        summary: 'Server-Sent Events of one job: `state` (current first, then changes; the last carries result or error) and `token`',
        tags: ['jobs'],
        params: jobParams,
        response: { 404: errorSchema },
      },
    },
    async (request, reply) => {
      const { jobs, events } = app.ctx;
      const { id } = request.params;
      const pending: JobEvent[] = [];
      let wake: (() => void) | undefined;
      const poke = () => {
        const w = wake;
        wake = undefined;
        w?.();
      };
      const stopEvents = await events.listen(id, (event) => {
        pending.push(event);
        poke();
      });
      const closed = new LightAbortController();
      const deadlineAt = Date.now() + EVENTS_MAX_MS;
      // The watch announced above also asks for the completion message (JobSignals.awaited).
      const waiter = jobs.waiter(id, deadlineAt, closed.signal, ANNOUNCED_RECHECK_MS);
      try {
        const view = await jobs.viewFor(request.viewer, id);
        if (!view) throw jobNotFound(id);
        const sse = app.sse.create(reply, { heartbeatMs: EVENTS_HEARTBEAT_MS });
        sse.onClose(() => {
          closed.abort();
          poke();
        });
        sse.send(stateEvent(view), 'state');
        if (isFinal(view.status)) return sse.end();

        let final: JobDoneMessage | null | undefined;
        void jobs.awaitFinal(id, waiter, deadlineAt, closed.signal).then(
          (message) => {
            final = message;
            poke();
          },
          () => {
            final = null;
            poke();
          },
        );
        let status = view.status;
        while (final === undefined && !sse.closed) {
          for (const event of pending.splice(0)) {
            if (event.type === 'token') sse.send({ index: event.index, delta: event.delta }, 'token');
            else if (!isFinal(event.status) && event.status !== status) {
              status = event.status;
              sse.send({ id, status: event.status, at: new Date(event.at).toISOString() }, 'state');
            }
          }
          if (final !== undefined || sse.closed) break;
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
        for (const event of pending.splice(0)) if (event.type === 'token') sse.send({ index: event.index, delta: event.delta }, 'token');
        if (final) sse.send(stateEvent({ ...view, ...final, finished_at: new Date().toISOString() } as JobView), 'state');
        else if (!sse.closed) sse.comment('stream time limit reached; reconnect to keep following the job');
        sse.end();
      } finally {
        stopEvents();
        waiter.cancel();
      }
      return reply;
    },
  );
}

function stateEvent(view: Omit<JobView, 'status'> & { status: JobView['status'] }) {
  const event: Record<string, unknown> = { id: view.id, status: view.status };
  if (view.model) event.model = view.model;
  if (view.created_at) event.created_at = view.created_at;
  if (view.finished_at) event.finished_at = view.finished_at;
  if (view.result) event.result = view.result;
  if (view.error) event.error = view.error;
  return event;
}
