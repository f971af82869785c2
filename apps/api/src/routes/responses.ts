/**
 * Owns /v1/responses, OpenAI's Responses API as a second face of the chat-completions facade: the
 * request becomes the same ordinary queued job (queue, router, routes, budgets, breakers, usage),
 * waited for or streamed by the same code (openai/job-wait.ts, openai/job-stream.ts), and answered
 * as a Response object or its typed events. `store` (the default) keeps the finished response
 * readable at GET /v1/responses/:id for RESULT_TTL_S, to the client key that created it only;
 * `previous_response_id` continues one, and an `item_reference` in `input` brings back one's answer;
 * its input items are listed at GET /v1/responses/:id/input_items; DELETE removes one. Cancel is
 * refused as OpenAI refuses it for a response not run in the background, which none here is.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { OpenAiError } from '../openai/errors.ts';
import { streamJob } from '../openai/job-stream.ts';
import { jobFailure, submitAndWait, waitBudgetMs } from '../openai/job-wait.ts';
import { inputItemListSchema, inputShape, listedInputItems, listInputItemsQuery, pageOf } from '../responses/input-items.ts';
import {
  createResponseSchema,
  itemReferences,
  type PriorTurn,
  rejectIncludeQuery,
  rejectUnsupported,
  rejectUnsupportedRetrieve,
  translateResponseRequest,
} from '../responses/request.ts';
import {
  echoedSettings,
  finishedResponse,
  jobIdOfResponse,
  type ResponseObject,
  type ResponseState,
  responseIdOfItem,
  responseObjectSchema,
} from '../responses/response.ts';
import { ResponseStore } from '../responses/store.ts';
import { responseEventRenderer } from '../responses/stream-events.ts';
import { errorSchema, idempotencyHeaders, OUTCOME_UNKNOWN_DOC } from './schemas.ts';

const responseParams = z.object({ id: z.string().min(1).max(256) });

const deletedSchema = z.object({ id: z.string(), object: z.literal('response'), deleted: z.literal(true) });

type NotFoundCode = 'not_found' | 'previous_response_not_found' | 'item_not_found';

/** An id as it may appear in a message: as sent when it looks like an id, else a placeholder. */
const safeId = (id: string) => (/^[\w.-]{1,256}$/.test(id) ? id : '(invalid id)');

function notFound(id: string, param: string, code: NotFoundCode, ttlS: number): OpenAiError {
  const safe = safeId(id);
  const what = code === 'item_not_found' ? 'message item' : 'response';
  return new OpenAiError(
    code === 'not_found' ? 404 : 400,
    'invalid_request_error',
    `No stored ${what} with id '${safe}'. Responses are kept for ${ttlS} s (RESULT_TTL_S) after they finish, only when created with store: true, and only for the API key that created them.`,
    { code, param },
  );
}

export default async function responseRoutes(app: FastifyInstance) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { config, redis, logger } = app.ctx;
  const store = new ResponseStore(redis, config.SWITCHYARD_NAMESPACE, config.RESULT_TTL_S, logger);

  /**
   * The text of each message item `input` references (`references`), looked up in the store as a response is
   * (this client's own, within RESULT_TTL_S); a 400 naming the first reference that is not found.
   */
  async function referencedTexts(references: ReturnType<typeof itemReferences>, clientId: string): Promise<Map<string, string>> {
    const texts = new Map<string, string>();
    const ids = [...new Set(references.map((r) => r.id))];
    await Promise.all(
      ids.map(async (id) => {
        const holder = responseIdOfItem(id);
        const stored = holder ? await store.get(holder, clientId) : null;
        const text = stored?.response.output.find((item) => item.id === id)?.content[0]?.text;
        if (text !== undefined) texts.set(id, text);
      }),
    );
    const missing = references.find((r) => !texts.has(r.id));
    if (missing) throw notFound(missing.id, `input[${missing.index}]`, 'item_not_found', config.RESULT_TTL_S);
    return texts;
  }

  r.post(
    '/v1/responses',
    {
      schema: {
        summary: 'OpenAI Responses API (through the queue, as chat completions); stream: true for typed SSE events',
        description: `Text in, text out: message items with input_text / output_text parts; tools, reasoning, background and other fields are refused with a 400 naming them. The job's id is in the x-switchyard-job-id header. ${OUTCOME_UNKNOWN_DOC}`,
        tags: ['openai'],
        body: createResponseSchema,
        headers: idempotencyHeaders,
        response: { 200: responseObjectSchema, 400: errorSchema, 404: errorSchema },
      },
    },
    async (request, reply) => {
      const { jobs } = app.ctx;
      const body = request.body;
      // Before the previous response is looked up: an unsupported field is named first.
      rejectUnsupported(body);
      let prior: PriorTurn | null = null;
      if (body.previous_response_id) {
        const stored = await store.get(body.previous_response_id, request.clientId);
        if (!stored) throw notFound(body.previous_response_id, 'previous_response_id', 'previous_response_not_found', config.RESULT_TTL_S);
        const answer = stored.response.output[0]?.content[0]?.text;
        if (stored.response.status === 'failed' || answer === undefined) {
          // The owner's own response, so saying it failed reveals nothing to anyone else.
          throw new OpenAiError(
            400,
            'invalid_request_error',
            `The previous response ${stored.response.id} failed, so there is no answer to continue from. Fix: continue from the response before it, or send the conversation as input.`,
            { code: 'previous_response_failed', param: 'previous_response_id' },
          );
        }
        prior = { messages: stored.conversation, output: answer };
      }
      // Most requests reference nothing: no store round trip, no wait.
      const referenced = itemReferences(body.input);
      const references = referenced.length > 0 ? await referencedTexts(referenced, request.clientId) : undefined;
      const translated = translateResponseRequest(body, app.ctx.models, prior, references);
      const idempotencyKey = request.headers['idempotency-key'];
      const id = jobs.jobId({ clientId: request.clientId, ...(idempotencyKey ? { idempotencyKey } : {}) });
      const state: ResponseState = {
        jobId: id,
        createdAt: Math.floor(Date.now() / 1000),
        model: translated.model,
        settings: echoedSettings(body),
      };
      const finished = async (response: ResponseObject) => {
        if (!state.settings.store) return;
        // The answer is in hand: a Redis hiccup costs the stored copy, never the answer.
        await store.save(request.clientId, response, translated.conversation, inputShape(body.input)).catch((err: Error) => {
          logger.warn({ jobId: id, responseId: response.id, err: { message: err.message } }, 'response not stored');
        });
      };
      const job = {
        jobId: id,
        job: translated.job,
        clientId: request.clientId,
        viewer: request.viewer,
        deadlineAt: Date.now() + waitBudgetMs(translated.job, config),
        ...(idempotencyKey ? { idempotencyKey } : {}),
      };
      reply.header('x-switchyard-job-id', id);

      if (body.stream) {
        await streamJob(app, reply, job, responseEventRenderer(state, { finished }));
        return reply;
      }
      const done = await submitAndWait(app, reply, job);
      if (!done) return reply;
      if (done.status !== 'completed' || !done.result) throw await jobFailure(app, done);
      const response = finishedResponse(state, done.result);
      await finished(response);
      return response;
    },
  );

  r.get(
    '/v1/responses/:id',
    {
      schema: {
        summary: 'A stored response (store: true), to the API key that created it',
        description: 'As JSON only: stream=true (a replay as events), include and starting_after are refused with a 400 naming them.',
        tags: ['openai'],
        params: responseParams,
        response: { 200: responseObjectSchema, 400: errorSchema, 404: errorSchema },
      },
    },
    async (request) => {
      rejectUnsupportedRetrieve(request.query as Record<string, unknown>);
      const stored = await store.get(request.params.id, request.clientId);
      if (!stored) throw notFound(request.params.id, 'response_id', 'not_found', config.RESULT_TTL_S);
      return stored.response;
    },
  );

  r.get(
    '/v1/responses/:id/input_items',
    {
      schema: {
        summary: "A stored response's input items (the messages it was given), to the API key that created it",
        description:
          'Cursor pages (`after`, `limit` 1-100, `order` asc|desc, newest first by default). With previous_response_id, only the items given to that response; instructions are no item. include is refused with a 400 naming it.',
        tags: ['openai'],
        params: responseParams,
        querystring: listInputItemsQuery,
        response: { 200: inputItemListSchema, 400: errorSchema, 404: errorSchema },
      },
    },
    async (request) => {
      rejectIncludeQuery(request.query);
      const { id } = request.params;
      const stored = await store.get(id, request.clientId);
      if (!stored) throw notFound(id, 'response_id', 'not_found', config.RESULT_TTL_S);
      const items = listedInputItems(jobIdOfResponse(stored.response.id), stored.conversation, stored.input);
      const { limit, order, after } = request.query;
      const page = pageOf(items, { limit, order, after });
      if (!page) {
        throw new OpenAiError(
          400,
          'invalid_request_error',
          `No input item with id '${safeId(after ?? '')}' in response ${stored.response.id}. Fix: pass the last_id of the page before, or leave after out to start from the first page.`,
          { code: 'item_not_found', param: 'after' },
        );
      }
      return page;
    },
  );

  r.post(
    '/v1/responses/:id/cancel',
    {
      schema: {
        summary: 'Cancels a background response: refused, as none runs in the background here',
        description:
          "OpenAI cancels only responses created with background: true, which this face refuses; a stored response is finished, so this is a 400 (another key's or an unknown id: the same 404 as GET). A response still running stops when its request or stream is closed.",
        tags: ['openai'],
        params: responseParams,
        response: { 400: errorSchema, 404: errorSchema },
      },
    },
    async (request) => {
      const stored = await store.get(request.params.id, request.clientId);
      if (!stored) throw notFound(request.params.id, 'response_id', 'not_found', config.RESULT_TTL_S);
      throw new OpenAiError(
        400,
        'invalid_request_error',
        `Cannot cancel a synchronous response: only responses created with background: true can be cancelled, and this gateway runs none in the background (response ${stored.response.id} has finished, status ${stored.response.status}). A response still running stops when its request or stream is closed.`,
        { code: null, param: null },
      );
    },
  );

  r.delete(
    '/v1/responses/:id',
    {
      schema: {
        summary: 'Deletes a stored response',
        tags: ['openai'],
        params: responseParams,
        response: { 200: deletedSchema, 404: errorSchema },
      },
    },
    async (request) => {
      if (!(await store.delete(request.params.id, request.clientId)))
        throw notFound(request.params.id, 'response_id', 'not_found', config.RESULT_TTL_S);
      return { id: request.params.id, object: 'response' as const, deleted: true as const };
    },
  );
}
