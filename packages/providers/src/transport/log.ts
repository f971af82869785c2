/**
 * Owns what adapters log: one line per call outcome with provider, model, class and latency. Never
 * request or response bodies, never headers: messages pass through ProviderError's redaction first.
 */
import type { DeploymentKind, Logger } from '@switchyard/shared';
import { isProviderError } from '../provider-error.ts';

export function logCall(
  logger: Logger | undefined,
  fields: { provider: DeploymentKind; model: string | undefined; startedAt: number; stream: boolean },
  err?: unknown,
): void {
  if (!logger) return;
  const latencyMs = Math.round(performance.now() - fields.startedAt);
  const base = { provider: fields.provider, model: fields.model, stream: fields.stream, latencyMs };
  if (err === undefined) {
    logger.debug(base, 'provider call succeeded');
    return;
  }
  if (isProviderError(err)) {
    const level = err.errorClass === 'aborted' ? 'debug' : 'warn';
    logger[level](
      { ...base, class: err.errorClass, status: err.status, retryAfterMs: err.retryAfterMs, err: err.message },
      'provider call failed',
    );
  }
}
