/**
 * Owns bull-board at /admin/queues: job-level inspection of the LLM queue (payloads, results,
 * failures, retries). /admin is a protected prefix of the auth plugin, so with API_KEYS set every
 * request here needs the Bearer header like the rest of the API. Our own errors raised on its routes
 * (a rate limit's 429) answer in our envelope, as everywhere else; bull-board's own stay its own.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { errorHandler as bullBoardErrorHandler } from '@bull-board/api/dist/handlers/error.js';
import type { HTTPStatus } from '@bull-board/api/dist/types.js';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { ApiError, errorBody } from '../plugins/errors.ts';

export const BULL_BOARD_PATH = '/admin/queues';

export async function registerBullBoard(app: FastifyInstance, queue: Queue): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: [new BullMQAdapter(queue, { description: 'LLM jobs' })],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Switchyard' } },
  });
  // bull-board answers whatever reaches its routes' error handler as its own 500-style body, which
  // turned our 429 into {"error":"ERRORS.INTERNAL_SERVER_ERROR",...}. Headers already set on the
  // reply (the rate limit's retry-after) go out either way.
  serverAdapter.setErrorHandler((error) =>
    error instanceof ApiError
      ? // Its type lists only the statuses bull-board sends itself; its Fastify adapter sends any.
        { status: error.statusCode as HTTPStatus, body: errorBody(error.type, error.message, error.extra) }
      : bullBoardErrorHandler(error),
  );
  await app.register(serverAdapter.registerPlugin(), { prefix: BULL_BOARD_PATH });
}
