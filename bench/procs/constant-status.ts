/**
 * The floor for B4: a process that answers every request with one constant body (BODY, our status
 * answer captured at warm-up) on bare node:http. Whatever p99 the open-loop load generator measures
 * against 4 of these is what this machine, its scheduler and the generator cost before any status
 * logic runs. Env: PORT, BODY. Prints {"ready":true} when listening.
 */
import { createServer } from 'node:http';
import { envNumber, envVar } from '../lib/env.ts';

const body = Buffer.from(envVar('BODY', '{}'));
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 72_000;
server.listen(envNumber('PORT'), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
