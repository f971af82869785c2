/**
 * `pnpm start`: the whole system on one machine. Ensures Redis (CONTRACT.md), starts the mock
 * provider server when no real provider is configured, then one API and one worker; prints the
 * URLs and a curl example; Ctrl-C stops all of it (children first, then a private Redis).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { ConfigError, loadConfig } from '@switchyard/shared';
import { ensureRedis, freePort } from '@switchyard/shared/ensure-redis';

const say = (line: string) => process.stdout.write(`[switchyard] ${line}\n`);
const children: ChildProcess[] = [];
let stopping = false;

function start(name: string, script: string, env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: 'inherit', env });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      say(`${name} exited (${signal ?? code}); stopping everything`);
      void stopAll(1);
    }
  });
  children.push(child);
  return child;
}

let redisStop: () => Promise<void> = async () => {};

async function stopAll(code: number): Promise<never> {
  stopping = true;
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(() => child.kill('SIGKILL'), 12_000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
  await redisStop();
  process.exit(code);
}

process.on('SIGINT', () => {
  say('stopping (Ctrl-C)');
  void stopAll(0);
});
process.on('SIGTERM', () => void stopAll(0));

async function waitHealthy(url: string, deadlineMs: number): Promise<boolean> {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(500) });
      if (res.ok) return true;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  return false;
}

let redis: Awaited<ReturnType<typeof ensureRedis>>;
try {
  redis = await ensureRedis({ log: say });
  redisStop = redis.stop;
} catch (err) {
  process.stderr.write(`[switchyard] ${(err as Error).message}\n`);
  process.exit(1);
}

const env: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: redis.url };
let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(env);
} catch (err) {
  process.stderr.write(`${err instanceof ConfigError ? err.message : String(err)}\n`);
  await redis.stop();
  process.exit(1);
}

if (config.MOCK_PROVIDER && !env.MOCK_PROVIDER_URL) {
  const port = await freePort();
  env.MOCK_PORT = String(port);
  env.MOCK_PROVIDER_URL = `http://127.0.0.1:${port}`;
  start('mock provider', 'packages/providers/src/mock-server/main.ts', env);
  say(`mock provider server at ${env.MOCK_PROVIDER_URL} (no real provider key is set)`);
}

start('api', 'apps/api/src/main.ts', env);
start('worker', 'apps/worker/src/main.ts', env);

const apiUrl = `http://${config.API_HOST.includes(':') ? `[${config.API_HOST}]` : config.API_HOST}:${config.API_PORT}`;
if (!(await waitHealthy(apiUrl, 30_000))) {
  say(`the API did not become ready at ${apiUrl} within 30 s; see its log above`);
  await stopAll(1);
}
const auth = config.API_KEYS ? ` -H 'Authorization: Bearer <one of API_KEYS>'` : '';
say(`ready. Providers: ${config.providers.map((p) => p.name).join(', ')}; default model ${config.DEFAULT_MODEL}`);
say(`API:        ${apiUrl}/v1`);
say(`Dashboard:  ${apiUrl}/dashboard`);
say(`API docs:   ${apiUrl}/docs`);
say('Try:');
process.stdout.write(
  `  curl -s ${apiUrl}/v1/jobs${auth} -H 'content-type: application/json' -d '{"model":"${config.DEFAULT_MODEL}","messages":[{"role":"user","content":"Hello, Switchyard"}]}'\n` +
    `  curl -s '${apiUrl}/v1/jobs/<id>?wait_ms=5000'${auth}\n`,
);
say('Ctrl-C stops everything.');
