import { createLogger } from '@switchyard/shared';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { lazyChildLoggerFactory } from '../src/request-logger.ts';

function appWithLines(level: string) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ name: 'request-logger-test', level }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  let children = 0;
  const parentChild = logger.child.bind(logger);
  logger.child = ((...args: Parameters<typeof logger.child>) => {
    children++;
    return parentChild(...args);
  }) as typeof logger.child;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    disableRequestLogging: true,
    childLoggerFactory: lazyChildLoggerFactory,
  });
  app.get('/quiet', async () => ({ ok: true }));
  app.get('/debug', async (request) => {
    request.log.debug({ detail: 1 }, 'debug line');
    return { ok: true };
  });
  app.get('/warn', async (request) => {
    request.log.warn({ detail: 2 }, 'warn line');
    request.log.info('info line');
    return { ok: true };
  });
  // Fastify makes children of its own while it starts: count only those made while serving.
  const ready = async () => {
    await app.ready();
    children = 0;
  };
  return { app, lines, ready, children: () => children };
}

describe('request.log (lazy child logger)', () => {
  let close: (() => Promise<unknown>) | undefined;
  afterEach(async () => close?.());

  it('a request that writes no line makes no child logger', async () => {
    const { app, lines, ready, children } = appWithLines('info');
    close = () => app.close();
    await ready();
    for (let i = 0; i < 5; i++) expect((await app.inject({ url: '/quiet' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/debug' })).statusCode).toBe(200);
    expect(children()).toBe(0);
    expect(lines).toEqual([]);
  });

  it('the lines a request writes carry its request id, one child per request', async () => {
    const { app, lines, ready, children } = appWithLines('info');
    close = () => app.close();
    await ready();
    const res = await app.inject({ url: '/warn', headers: { 'request-id': 'ignored' } });
    expect(res.statusCode).toBe(200);
    expect(children()).toBe(1);
    expect(lines.map((l) => l.msg)).toEqual(['warn line', 'info line']);
    const reqIds = new Set(lines.map((l) => l.reqId));
    expect(reqIds.size).toBe(1);
    expect([...reqIds][0]).toEqual(expect.any(String));
    expect(lines[0]).toMatchObject({ detail: 2, level: 40 });
  });

  it('follows the logger level: at debug the debug line is written, with the id', async () => {
    const { app, lines } = appWithLines('debug');
    close = () => app.close();
    await app.inject({ url: '/debug' });
    expect(lines).toEqual([expect.objectContaining({ msg: 'debug line', detail: 1, reqId: expect.any(String) })]);
  });
});
