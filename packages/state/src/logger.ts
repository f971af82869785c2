/**
 * Owns the logging surface the state store needs: the four pino levels it uses (any pino Logger
 * fits), and a throttle so a Redis outage produces one warning every few seconds, not one per call.
 */
import type { Logger } from '@switchyard/shared';

export type StateLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

/** Logs the first occurrence at once, then at most once per `everyMs` with the count suppressed. */
export class ThrottledWarning {
  private lastAt = 0;
  private suppressed = 0;

  constructor(
    private readonly logger: StateLogger,
    private readonly message: string,
    private readonly everyMs = 5_000,
  ) {}

  warn(fields: Record<string, unknown>): void {
    const now = Date.now();
    if (now - this.lastAt < this.everyMs) {
      this.suppressed += 1;
      return;
    }
    const suppressed = this.suppressed;
    this.lastAt = now;
    this.suppressed = 0;
    this.logger.warn(suppressed > 0 ? { ...fields, suppressed } : fields, this.message);
  }
}
