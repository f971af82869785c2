/**
 * CPU per `POST /v1/jobs` of our Fastify app against a bare route that only enqueues (as
 * bench/procs/bare-intake.ts), both in this process, each offered the same fixed rate by an
 * autocannon child process, alternating rounds. B2 runs closed loop, where the ratio moves with
 * whatever else the 2 cores do; at a fixed rate under saturation the CPU per request is steady, so
 * a change to a hook, the validation or the submit path shows up here in a few runs.
 *
 *   npx tsx bench/tools/intake-cost.ts [rate=3000] [seconds=4] [rounds=3]   (rate 0: closed loop, as B2)
 *
 * Uses REDIS_URL (default redis://127.0.0.1:6379) under a fresh namespace, and removes it after.
 */

import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { createLogger, loadConfig, queuePrefix } from '@switchyard/shared';
import { deleteNamespace, testNamespace } from '@switchyard/shared/testing';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { buildApp } from '../../apps/api/src/app.ts';
import { createApiContext } from '../../apps/api/src/context.ts';
import { bareIntakeApp } from '../lib/bare-intake.ts';
import { REPO_ROOT } from '../lib/processes.ts';

const rate = Number(process.argv[2] ?? 3000);
const seconds = Number(process.argv[3] ?? 4);
const rounds = Number(process.argv[4] ?? 3);
const connections = 16;
const BODY = JSON.stringify({ model: 'mock/echo', messages: [{ role: 'user', content: 'Summarise the plot of Hamlet in one sentence.' }] });

const namespace = testNamespace('intake');
const config = loadConfig({
  ...process.env,
  SWITCHYARD_NAMESPACE: namespace,
  RATE_LIMIT_RPM: '0',
  LOG_LEVEL: 'info',
  MOCK_PROVIDER: 'true',
});
const logger = createLogger({ name: 'intake-cost', level: 'info' });
const ctx = await createApiContext(config, logger, 5000);
const ours = await buildApp(ctx);

const connection = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1 });
const bareQueue = new Queue('plain', { connection, prefix: queuePrefix(`${namespace}-bare`), skipVersionCheck: true });
const bare = bareIntakeApp(bareQueue);
await Promise.all([ours.listen({ host: '127.0.0.1', port: 0 }), bare.listen({ host: '127.0.0.1', port: 0 })]);
const urlOf = (app: FastifyInstance) => {
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('not listening');
  return `http://127.0.0.1:${address.port}`;
};

/** Runs autocannon against `app` for `seconds`; this process's CPU per answered request, and req/s. */
async function drive(app: FastifyInstance, seconds: number): Promise<{ usPerRequest: number; answered: number }> {
  const cpu0 = process.cpuUsage();
  const { stdout } = await promisify(execFile)(
    resolve(REPO_ROOT, 'node_modules/.bin/autocannon'),
    [
      '-j',
      '-c',
      String(connections),
      ...(rate > 0 ? ['-R', String(rate)] : []),
      '-d',
      String(seconds),
      '-m',
      'POST',
      '-H',
      'content-type=application/json',
      '-b',
      BODY,
      `${urlOf(app)}/v1/jobs`,
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  const cpu = process.cpuUsage(cpu0);
  const result = JSON.parse(stdout) as { requests: { total: number }; non2xx: number; errors: number };
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return { usPerRequest: (cpu.user + cpu.system) / result.requests.total, answered: result.requests.total / seconds };
}

try {
  await drive(ours, 2);
  await drive(bare, 2);
  for (let round = 0; round < rounds; round++) {
    const apps = { ours, bare };
    const order = round % 2 === 0 ? (['ours', 'bare'] as const) : (['bare', 'ours'] as const);
    const out: Record<string, { usPerRequest: number; answered: number }> = {};
    for (const name of order) out[name] = await drive(apps[name], seconds);
    const { ours: o, bare: b } = out as Record<'ours' | 'bare', { usPerRequest: number; answered: number }>;
    console.log(
      `round ${round + 1}: ours ${o.usPerRequest.toFixed(1)} µs CPU/request (${Math.round(o.answered)} req/s), bare ${b.usPerRequest.toFixed(1)} (${Math.round(b.answered)} req/s), ratio ${(o.usPerRequest / b.usPerRequest).toFixed(2)}`,
    );
  }
} finally {
  await ours.close();
  await bare.close();
  await bareQueue.close();
  connection.disconnect();
  await ctx.close();
  await deleteNamespace(config.REDIS_URL, namespace).catch(() => {});
}
