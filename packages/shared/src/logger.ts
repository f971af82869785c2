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
 * Most a process keeps of log lines its stdout has not taken yet. Past it lines are dropped instead
 * of stalling the process: a worker whose log reader hangs keeps running its jobs.
 */
export const LOG_BUFFER_MAX_BYTES = 16 * 1024 * 1024;

/**
 * stdout, written asynchronously. pino's default writes each line with a synchronous write(2), so a
 * process whose stdout is a pipe stops whenever the pipe is full: a slow log shipper, or a parent
 * busy elsewhere, stalled every job of a worker (bench/lib/processes.ts: it halved a bench worker's throughput).
 * Asynchronously, lines logged while one write is in flight go out together with the next, and
 * nothing is held back while the process is idle. pino flushes synchronously on exit and after a
 * `fatal` line, so an ending process loses none (packages/shared/test/logger.test.ts). Into a file, both cost the same
 * CPU per line (100,000 lines, one per event-loop turn: 0.72-0.75 s sync, 0.73-0.79 s async).
 */
export function stdoutDestination(): DestinationStream {
  return pino.destination({ dest: 1, sync: false, maxLength: LOG_BUFFER_MAX_BYTES });
}

/** `destination`: where lines go (tests pass a capturing stream); stdout, asynchronously, by default. */
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
    destination ?? stdoutDestination(),
  );
  // pino serializes a child's bindings once, when the child is made, past formatters.log: they are
  // redacted here. Children inherit this method from their parent, so it covers every descendant.
  const child = logger.child;
  logger.child = function redactedChild(this: Logger, bindings, childOptions) {
    return child.call(this, redactLogFields(bindings), childOptions);
  } as Logger['child'];
  return logger;
}
