/**
 * Owns a streamed chat completion (`stream: true`) as OpenAI chunks: role first, content deltas,
 * the finish_reason chunk, the usage chunk when asked, then `data: [DONE]`; a failure after the
 * headers is an SSE error event. When each is sent is job-stream.ts's business.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { errorEventBody } from './errors.ts';
import { type JobStreamInput, type StreamRenderer, streamJob } from './job-stream.ts';
import { type ChunkBase, chunk, completionId, finishReason, servedModel, usageChunk } from './response.ts';

export interface StreamInput extends JobStreamInput {
  model: string;
  includeUsage: boolean;
  created: number;
}

export async function streamCompletion(app: FastifyInstance, reply: FastifyReply, input: StreamInput): Promise<void> {
  const base: ChunkBase = { id: completionId(input.jobId), created: input.created, model: input.model, includeUsage: input.includeUsage };
  const renderer: StreamRenderer = {
    open: (sse) => sse.send(chunk(base, { role: 'assistant', content: '' })),
    delta: (sse, text) => sse.send(chunk(base, { content: text })),
    complete(sse, result) {
      const served = { ...base, model: servedModel(result) };
      sse.send(chunk(served, {}, finishReason(result.finish_reason)));
      if (input.includeUsage) sse.send(usageChunk(served, result));
      sse.send('[DONE]');
    },
    fail: (sse, err) => sse.send(errorEventBody(err), 'error'),
  };
  await streamJob(app, reply, input, renderer);
}
