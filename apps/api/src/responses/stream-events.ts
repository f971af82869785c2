/**
 * Owns a streamed response's typed events (OpenAI's ResponseStreamEvent), each with its
 * `event:` name and a `sequence_number` counting from 0: response.created, response.in_progress,
 * response.output_item.added and response.content_part.added as the stream opens; one
 * response.output_text.delta per token; then response.output_text.done, response.content_part.done,
 * response.output_item.done and response.completed (or response.incomplete when the answer stopped
 * at max_output_tokens or a filter). A failure after the stream opened ends it with response.failed
 * carrying the error and what was sent so far. The finished response is stored before its last
 * event goes out, so a client that reads it back right away finds it. When each is sent is
 * job-stream.ts's business.
 */
import type { JobError, JobResult } from '@switchyard/shared';
import type { StreamRenderer } from '../openai/job-stream.ts';
import type { SseStream } from '../sse.ts';
import {
  failedResponse,
  finishedResponse,
  inProgressResponse,
  messageItem,
  messageItemId,
  type ResponseObject,
  type ResponseState,
  responseError,
  textPart,
} from './response.ts';

export interface ResponseStreamHooks {
  /** Called with the final response (completed, incomplete or failed) before its last event is sent. */
  finished(response: ResponseObject): Promise<void>;
}

export function responseEventRenderer(state: ResponseState, hooks: ResponseStreamHooks): StreamRenderer {
  let sequence = 0;
  let text = '';
  const itemId = messageItemId(state.jobId);
  const at = { item_id: itemId, output_index: 0, content_index: 0 };
  const send = (sse: SseStream, event: { type: string } & Record<string, unknown>) => {
    sse.send({ ...event, sequence_number: sequence++ }, event.type);
  };

  return {
    open(sse) {
      const response = inProgressResponse(state);
      send(sse, { type: 'response.created', response });
      send(sse, { type: 'response.in_progress', response });
      send(sse, { type: 'response.output_item.added', output_index: 0, item: messageItem(state.jobId, 'in_progress', null) });
      send(sse, { type: 'response.content_part.added', ...at, part: textPart('') });
    },
    delta(sse, delta) {
      text += delta;
      send(sse, { type: 'response.output_text.delta', ...at, delta, logprobs: [] });
    },
    async complete(sse, result: JobResult) {
      const response = finishedResponse(state, result, text);
      send(sse, { type: 'response.output_text.done', ...at, text, logprobs: [] });
      send(sse, { type: 'response.content_part.done', ...at, part: textPart(text) });
      send(sse, { type: 'response.output_item.done', output_index: 0, item: response.output[0] });
      await hooks.finished(response);
      send(sse, { type: response.status === 'incomplete' ? 'response.incomplete' : 'response.completed', response });
    },
    async fail(sse, err, jobError?: JobError) {
      const response = failedResponse(state, responseError(err.message, jobError), text);
      await hooks.finished(response);
      send(sse, { type: 'response.failed', response });
    },
  };
}
