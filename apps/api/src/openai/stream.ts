/**
 * Owns a streamed chat completion (`stream: true`): subscribe to the job's events before the job
 * exists, forward its tokens as OpenAI chunks (role first, content deltas, the finish_reason chunk,
 * the usage chunk when asked, then `data: [DONE]`), and reconcile with the final result, since
 * pub/sub may drop a message around a reconnect: whatever the client has not seen is sent as one
 * last delta. Headers wait for the first token (up to FIRST_BYTE_MS), so a job that fails before
 * it answers still gets a proper HTTP status; after that, failures travel as an SSE error event.
 * A client that hangs up cancels the job.
 */
import { type JobDoneMessage, type JobEvent, type JobRequest, LightAbortController } from '@switchyard/shared';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { cancelJob } from '../jobs/job-cancel.ts';
import { isFinal, viewToDone } from '../jobs/job-service.ts';
import type { JobViewer } from '../jobs/ownership.ts';
import { OutcomeUnknownError } from '../jobs/write-outcome.ts';
import { errorEventBody, jobErrorToOpenAi, OpenAiError } from './errors.ts';
import { type ChunkBase, chunk, completionId, finishReason, servedModel, usageChunk } from './response.ts';
import { retryAfterSeconds } from './retry-after.ts';

/** Headers go out at the first token, or after this long without one (then keep-alive comments). */
export const FIRST_BYTE_MS = 5_000;
export const HEARTBEAT_MS = 15_000;

export interface StreamInput {
  jobId: string;
  job: JobRequest;
  model: string;
  includeUsage: boolean;
  created: number;
  clientId: string;
  /** The requesting client: its jobs' owner, and whose existing job an Idempotency-Key may resolve to. */
  viewer: JobViewer;
  idempotencyKey?: string;
  deadlineAt: number;
}

export async function streamCompletion(app: FastifyInstance, reply: FastifyReply, input: StreamInput): Promise<void> {
  const { jobs, events, redis, config, logger } = app.ctx;
  const id = input.jobId;
  const sse = app.sse.create(reply, { heartbeatMs: HEARTBEAT_MS });
  const base: ChunkBase = { id: completionId(id), created: input.created, model: input.model, includeUsage: input.includeUsage };
  const pending: JobEvent[] = [];
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  // The job is submitted as a streaming one: its worker publishes events without being told.
  const stopEvents = await events.listen(
    id,
    (event) => {
      pending.push(event);
      poke();
    },
    { watch: false },
  );
  const closed = new LightAbortController();
  sse.onClose(() => {
    closed.abort();
    poke();
  });
  let waiter = jobs.waiter(id, input.deadlineAt, closed.signal);
  let final: JobDoneMessage | null | undefined;
  let openTimer: NodeJS.Timeout | undefined;
  // A write Redis may still perform is left alone: the client was given its id and the key that
  // reaches it (write-outcome.ts), and a cancel would turn that retry into a cancelled job.
  let outcomeUnknown = false;
  try {
    const submitted = await jobs
      .submit(input.job, {
        id,
        clientId: input.clientId,
        viewer: input.viewer,
        ...(input.idempotencyKey ? { idempotencyKey: input.idempotencyKey } : {}),
      })
      .catch((err: unknown) => {
        outcomeUnknown = err instanceof OutcomeUnknownError;
        throw err;
      });
    if (submitted.existing) {
      const view = await jobs.view(id);
      if (view && isFinal(view.status)) final = viewToDone(view);
      // Found by its key: submitted earlier, maybe without streaming, so this wait announces itself.
      else if (view) waiter = await jobs.announcedWaiter(waiter, id, input.deadlineAt, closed.signal);
    }
    if (final === undefined) {
      void jobs.awaitFinal(id, waiter, input.deadlineAt, closed.signal).then(
        (message) => {
          final = message;
          poke();
        },
        () => {
          final = null;
          poke();
        },
      );
    } else {
      waiter.cancel();
    }

    const open = () => {
      if (sse.isOpen || sse.closed) return;
      reply.header('x-switchyard-job-id', id);
      sse.start();
      sse.send(chunk(base, { role: 'assistant', content: '' }));
    };
    openTimer = setTimeout(open, FIRST_BYTE_MS);

    let emitted = '';
    let nextIndex = 0;
    let gap = false;
    let interrupted = false;
    const drain = () => {
      for (const event of pending.splice(0)) {
        if (event.type === 'token') {
          if (event.index === nextIndex && !gap) {
            open();
            sse.send(chunk(base, { content: event.delta }));
            emitted += event.delta;
            nextIndex++;
          } else if (event.index > nextIndex) {
            gap = true; // a token went missing: the final result fills in the rest
          } else {
            interrupted = true; // tokens restarted at 0: the attempt we streamed from failed
          }
        } else if (event.status === 'active' && emitted.length > 0) {
          interrupted = true;
        }
      }
    };

    while (final === undefined && !sse.closed && !interrupted) {
      drain();
      if (final !== undefined || sse.closed || interrupted) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
    drain();

    if (sse.closed) return; // the client hung up; finally{} cancels the job
    if (interrupted && final === undefined) {
      sendError(
        new OpenAiError(
          502,
          'upstream_error',
          'The provider failed after the stream had started; a stream cannot be resumed. Retry the request.',
          {
            code: 'stream_interrupted',
            param: null,
          },
        ),
      );
      return;
    }
    if (!final) {
      sendError(
        new OpenAiError(504, 'timeout_error', 'The job did not finish in time and was cancelled.', { code: 'timeout', param: null }),
      );
      return;
    }
    if (final.status !== 'completed' || !final.result) {
      const error = final.error ?? { class: 'service_unavailable' as const, message: `job ${final.status}` };
      const retryAfter = sse.isOpen
        ? 1
        : await retryAfterSeconds(
            app.ctx.state,
            config.providers.map((p) => p.name),
            error,
          );
      sendError(jobErrorToOpenAi(error, retryAfter));
      return;
    }

    const result = final.result;
    open();
    if (result.content.startsWith(emitted)) {
      const rest = result.content.slice(emitted.length);
      if (rest) sse.send(chunk(base, { content: rest }));
    } else {
      logger.warn({ jobId: id }, 'streamed tokens differ from the final result; the final result was not re-sent');
    }
    const served = { ...base, model: servedModel(result) };
    sse.send(chunk(served, {}, finishReason(result.finish_reason)));
    if (input.includeUsage) sse.send(usageChunk(served, result));
    sse.send('[DONE]');
    sse.end();
  } finally {
    clearTimeout(openTimer);
    stopEvents();
    waiter.cancel();
    if ((final === undefined || final === null) && !outcomeUnknown) {
      // Hung up, timed out or interrupted: nobody will read this job's answer.
      cancelJob({ jobs, redis, namespace: config.SWITCHYARD_NAMESPACE, markTtlS: config.FAILED_TTL_S }, input.viewer, id, 0).catch(
        () => {},
      );
    }
    sse.end();
  }

  function sendError(err: OpenAiError): void {
    if (!sse.isOpen) {
      sse.end();
      throw err; // headers not sent yet: a real HTTP status, which the SDKs turn into typed errors
    }
    sse.send(errorEventBody(err), 'error');
    sse.end();
  }
}
