/**
 * Runs a command with a Redis ensured the way CONTRACT.md says (REDIS_URL, else 127.0.0.1:6379,
 * else a private redis-server stopped afterwards), passing REDIS_URL on. Used by `pnpm test`
 * and `pnpm bench`.
 */
import { spawn } from 'node:child_process';
import { ensureRedis } from '@switchyard/shared/ensure-redis';

const [command, ...args] = process.argv.slice(2);
if (!command) {
  process.stderr.write('usage: tsx scripts/with-redis.ts <command> [args...]\n');
  process.exit(2);
}

let redis: Awaited<ReturnType<typeof ensureRedis>>;
try {
  redis = await ensureRedis({ log: (line) => process.stderr.write(`[with-redis] ${line}\n`) });
} catch (err) {
  process.stderr.write(`[with-redis] ${(err as Error).message}\n`);
  process.exit(1);
}

const child = spawn(command, args, { stdio: 'inherit', env: { ...process.env, REDIS_URL: redis.url } });
const forward = (signal: NodeJS.Signals) => child.kill(signal);
process.on('SIGINT', forward);
process.on('SIGTERM', forward);
child.on('exit', async (code, signal) => {
  await redis.stop();
  process.exit(code ?? (signal ? 1 : 0));
});
