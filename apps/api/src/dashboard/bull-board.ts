/**
 * Owns bull-board at /admin/queues: job-level inspection of the LLM queue (payloads, results,
 * failures, retries). It shows every client's prompts, so the dashboard plugin registers it behind
 * app.requireOperator (the Bearer header or the session cookie, dashboard/data-routes.ts). Our own
 * errors raised on its routes (a rate limit's 429) answer in our envelope, as everywhere else;
 * bull-board's own stay its own.
 * Nothing phones home: its page links a public font host, which is cut from the HTML (its CSS falls
 * back to the system's sans-serif and monospace), and a Content-Security-Policy keeps the browser
 * on this origin for anything else.
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

/** Its page: scripts, styles (inline ones too: it renders a loading screen with them), fonts and data from here only. */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
  'referrer-policy': 'no-referrer',
};

/** `<link>` and `<script>` tags that load from another origin (an absolute or protocol-relative URL). */
const EXTERNAL_ASSET = /<(?:link|script)\b[^>]*\b(?:href|src)=["'](?:[a-z][a-z0-9+.-]*:)?\/\/[^"']*["'][^>]*>(?:\s*<\/script>)?\s*/gi;

/** bull-board's HTML without anything it would load from another origin. */
export function withoutExternalAssets(html: string): string {
  return html.replace(EXTERNAL_ASSET, '');
}

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
  await app.register(async (board) => {
    board.addHook('onSend', async (_request, reply, payload) => {
      if (typeof payload !== 'string' || !String(reply.getHeader('content-type') ?? '').startsWith('text/html')) return payload;
      reply.headers(PAGE_HEADERS);
      return withoutExternalAssets(payload);
    });
    await board.register(serverAdapter.registerPlugin(), { prefix: BULL_BOARD_PATH });
  });
}
