/**
 * Owns bull-board at /admin/queues: job-level inspection of the LLM queue (payloads, results,
 * failures, retries). /admin is a protected prefix of the auth plugin, so with API_KEYS set every
 * request here needs the Bearer header like the rest of the API.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';

export const BULL_BOARD_PATH = '/admin/queues';

export async function registerBullBoard(app: FastifyInstance, queue: Queue): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: [new BullMQAdapter(queue, { description: 'LLM jobs' })],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Switchyard' } },
  });
  await app.register(serverAdapter.registerPlugin(), { prefix: BULL_BOARD_PATH });
}
