/**
 * Owns logging: pino JSON, one event per line, with key-like fields redacted by path and every
 * serialized line scrubbed of anything secret-shaped as a last line of defence.
 */
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { redactSecrets } from './secrets.ts';

export type { Logger } from 'pino';

export const REDACT_PATHS = [
  'apiKey',
  'api_key',
  'key',
  'authorization',
  'password',
  'secret',
  'token',
  '*.apiKey',
  '*.api_key',
  '*.authorization',
  '*.password',
  '*.secret',
  '*.token',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers["x-goog-api-key"]',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["x-goog-api-key"]',
  'req.headers.cookie',
];

/**
 * stdout without a write(2) per line on the event loop: lines written while a write is in flight go
 * out together in the next one, so a worker logging a line per job at thousands of jobs/s makes a
 * few hundred syscalls a second instead of thousands, and a quiet process still writes each line at
 * once. pino flushes it synchronously on exit (process.exit included).
 */
let stdout: DestinationStream | undefined;
function stdoutDestination(): DestinationStream {
  stdout ??= pino.destination({ dest: 1, sync: false });
  return stdout;
}

export function createLogger(options: { name: string; level?: string } & Partial<LoggerOptions>, destination?: DestinationStream): Logger {
  const { name, level, ...rest } = options;
  return pino(
    {
      name,
      level: level ?? process.env.LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      hooks: { streamWrite: (line) => redactSecrets(line) },
      base: { pid: process.pid, service: name },
      timestamp: pino.stdTimeFunctions.isoTime,
      ...rest,
    },
    destination ?? stdoutDestination(),
  );
}
