/**
 * Owns streaming one facade job to its client, whatever the face (chat completions, responses):
 * subscribe to the job's events before the job exists, forward its tokens in order through the
 * face's renderer, and reconcile with the final result, since pub/sub may drop a message around a
 * reconnect: whatever the client has not seen is sent as one last delta. Headers wait for the first
 * token (up to FIRST_BYTE_MS), so a job that fails before it answers (after every fallback the
 * router tried) still gets a proper HTTP status; after that, failures travel as the face's error
 * events. A provider that fails after tokens went out cannot be resumed: the client gets an error
 * event, never a second answer spliced onto the first. A client that hangs up cancels the job.
 */
import {
  type JobDoneMessage,
  type JobError,
  type JobEvent,
  type JobRequest,
  type JobResult,
  LightAbortController,
} from '@switchyard/shared';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { cancelJob } from '../jobs/job-cancel.ts';
import { isFinal, viewToDone } from '../jobs/job-service.ts';
import type { JobViewer } from '../jobs/ownership.ts';
import { OutcomeUnknownError } from '../jobs/write-outcome.ts';
import type { SseStream } from '../sse.ts';
import { jobErrorToOpenAi, jobTimeoutError, type OpenAiError, streamInterruptedError } from './errors.ts';
import { jobFailure } from './job-wait.ts';

/** Headers go out at the first token, or after this long without one (then keep-alive comments). */
export const FIRST_BYTE_MS = 5_000;
export const HEARTBEAT_MS = 15_000;

export interface JobStreamInput {
  jobId: string;
  job: JobRequest;
  clientId: string;
  /** The requesting client: its jobs' owner, and whose existing job an Idempotency-Key may resolve to. */
  viewer: JobViewer;
  idempotencyKey?: string;
  deadlineAt: number;
}

/** What a face sends at each point of the stream; the driver decides when. */
export interface StreamRenderer {
  /** The opening events, as the headers go out. */
  open(sse: SseStream): void;
  delta(sse: SseStream, text: string): void;
  /** The closing events of a completed job; every delta has been sent (the result's content, when the two agree). */
  complete(sse: SseStream, result: JobResult): Promise<void> | void;
  /** A failure after the headers went out. `jobError` is the job's own error when it has one. */
  fail(sse: SseStream, err: OpenAiError, jobError?: JobError): Promise<void> | void;
}

export async function streamJob(app: FastifyInstance, reply: FastifyReply, input: JobStreamInput, renderer: StreamRenderer): Promise<void> {
  const { jobs, events, redis, config, logger } = app.ctx;
  const id = input.jobId;
  const sse = app.sse.create(reply, { heartbeatMs: HEARTBEAT_MS });
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
      renderer.open(sse);
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
            renderer.delta(sse, event.delta);
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
    if (interrupted && final === undefined) return await sendError(streamInterruptedError());
    if (!final) return await sendError(jobTimeoutError());
    if (final.status !== 'completed' || !final.result) {
      // Once the headers are out the error is an event: no retry-after to read.
      const err = sse.isOpen && final.error ? jobErrorToOpenAi(final.error) : await jobFailure(app, final);
      return await sendError(err, final.error);
    }

    const result = final.result;
    open();
    if (result.content.startsWith(emitted)) {
      const rest = result.content.slice(emitted.length);
      if (rest) renderer.delta(sse, rest);
    } else {
      logger.warn({ jobId: id }, 'streamed tokens differ from the final result; the final result was not re-sent');
    }
    await renderer.complete(sse, result);
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

  async function sendError(err: OpenAiError, jobError?: JobError): Promise<void> {
    if (!sse.isOpen) {
      sse.end();
      throw err; // headers not sent yet: a real HTTP status, which the SDKs turn into typed errors
    }
    await renderer.fail(sse, err, jobError);
    sse.end();
  }
}
