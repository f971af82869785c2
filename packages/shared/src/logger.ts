/**
 * Owns logging: pino JSON, one event per line, with key-like fields redacted by path and every
 * serialized line scrubbed of anything secret-shaped as a last line of defence.
 */
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { redactLogFields } from './log-redaction.ts';
import { redactSecrets } from './secrets.ts';

export type { Logger } from 'pino';

export { REDACT_PATHS } from './log-redaction.ts';

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
