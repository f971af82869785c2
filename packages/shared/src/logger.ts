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
    destination,
  );
}
