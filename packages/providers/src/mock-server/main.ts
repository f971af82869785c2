/**
 * `pnpm mock-provider`: runs the mock LLM server on its own. Port from MOCK_PORT (default 4010),
 * host from MOCK_HOST (default 127.0.0.1). Prints its URL and the base URLs to point providers at.
 */
import { startMockServer } from './index.ts';

const port = Number(process.env.MOCK_PORT ?? 4010);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`MOCK_PORT must be a TCP port (0-65535), got "${process.env.MOCK_PORT}". Fix: e.g. MOCK_PORT=4010.\n`);
  process.exit(1);
}

try {
  const server = await startMockServer({ port, host: process.env.MOCK_HOST ?? '127.0.0.1' });
  process.stdout.write(`mock provider listening on ${server.url}\n`);
  for (const [name, value] of Object.entries(server.env())) process.stdout.write(`  ${name}=${value}\n`);
  // Kinds configured only in the fleet config file: their deployments' base_url.
  for (const kind of ['azure-openai', 'openai-compatible'] as const) process.stdout.write(`  ${kind} base_url: ${server.baseUrls[kind]}\n`);
  process.stdout.write(
    `  faults: header "x-mock-fault: status=503" or "[[mock:hang]]" in the last user message; admin under ${server.url}/__mock/\n`,
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`mock provider stopping (${signal})\n`);
    server.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 2_000).unref();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
} catch (err) {
  const code = (err as { code?: string }).code;
  process.stderr.write(
    code === 'EADDRINUSE'
      ? `port ${port} is in use. Fix: stop what uses it or set MOCK_PORT to another port.\n`
      : `mock provider failed to start: ${(err as Error).message}\n`,
  );
  process.exit(1);
}
