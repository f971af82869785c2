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
 * stdout, written synchronously: every line is out before the call that logged it returns, so no
 * way out of the process (exit, uncaught exception, `fatal`, a kill) loses or reorders a line.
 * pino's own default writes asynchronously through the thread pool: a line still in flight could
 * land after a `fatal` line (3 of 12 runs of packages/shared/test/logger.test.ts) or be lost when
 * the process ended first, and each line cost a thread hand-off (strace of a worker at 300 jobs/s:
 * 9.6 system calls per job, 6.5 synchronously). The worker's CPU per job and B1 did not tell the
 * two apart (three alternating pairs). Like Node's own stdout into files and pipes on Linux, a full
 * pipe makes the writer wait.
 */
function stdoutDestination(): DestinationStream {
  return pino.destination({ dest: 1, sync: true });
}

/**
 * pino's `isoTime`, rendered once per millisecond: a worker writes several lines in the same
 * millisecond under load, and `toISOString` was a fifth of a line's CPU (3.7 -> 3.0 µs per
 * `job completed` line, 200,000 lines to /dev/null). The lines are the same as isoTime's.
 */
function isoTimeOncePerMs(): () => string {
  let renderedAt = -1;
  let rendered = '';
  return () => {
    const now = Date.now();
    if (now !== renderedAt) {
      renderedAt = now;
      rendered = `,"time":"${new Date(now).toISOString()}"`;
    }
    return rendered;
  };
}

/** `destination`: where lines go (tests pass a capturing stream); stdout by default (stdoutDestination). */
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
      timestamp: isoTimeOncePerMs(),
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
