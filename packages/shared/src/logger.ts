/**
 * Owns logging: pino JSON, one event per line, with key-like fields redacted by path and every
 * serialized line scrubbed of anything secret-shaped as a last line of defence.
 */
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { redactLogFields } from './log-redaction.ts';
import { redactSecrets } from './secrets.ts';

export type { Logger } from 'pino';

export { REDACT_PATHS } from './log-redaction.ts';

/**
 * `destination`: where lines go (tests pass a capturing stream). By default pino's own stdout
 * destination, which writes asynchronously: lines logged while one write is in flight go out with
 * the next, and pino writes what is queued synchronously on exit and after a `fatal` line
 * (packages/shared/test/logger.test.ts: no line lost on exit or on an uncaught exception). What it
 * gives up: the one write still in flight on the thread pool when that happens can land after the
 * `fatal` line, or, if the process ends first, not at all.
 */
export function createLogger(options: { name: string; level?: string } & Partial<LoggerOptions>, destination?: DestinationStream): Logger {
  const { name, level, ...rest } = options;
  const logger = pino(
    {
      name,
      level: level ?? process.env.LOG_LEVEL ?? 'info',
      // Path redaction of each line's fields (log-redaction.ts), in place of pino's `redact`.
      formatters: { log: redactLogFields },
      hooks: { streamWrite: (line) => redactSecrets(line) },
      base: { pid: process.pid, service: name },
      timestamp: pino.stdTimeFunctions.isoTime,
      ...rest,
    },
    destination,
  );
  // pino serializes a child's bindings once, when the child is made, past formatters.log: they are
  // redacted here. Children inherit this method from their parent, so it covers every descendant.
  const child = logger.child;
  logger.child = function redactedChild(this: Logger, bindings, childOptions) {
    return child.call(this, redactLogFields(bindings), childOptions);
  } as Logger['child'];
  return logger;
}
