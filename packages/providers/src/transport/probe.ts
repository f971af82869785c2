/**
 * Owns the health-probe contract: one attempt, a short deadline, no retries, and never a rejection.
 * Whatever happens becomes a ProbeResult with a state of CONTRACT.md and a secret-free message.
 */
import { type DeploymentKind, type ErrorClass, type ProviderState, stateForClass } from '@switchyard/shared';
import type { ProbeResult } from '../types.ts';
import { runAttempt, type ThrownClassifier } from './attempt.ts';

/** The provider state a failed probe implies. Classes that say nothing about health still mean "not usable now". */
export function stateForProbeFailure(errorClass: ErrorClass): ProviderState {
  if (errorClass === 'aborted') return 'unknown';
  return stateForClass(errorClass) ?? 'service_unavailable';
}

export type ProbeCheck = (signal: AbortSignal) => Promise<Pick<ProbeResult, 'credits' | 'state' | 'error'> | undefined>;

export async function runProbe(
  provider: DeploymentKind,
  options: { signal?: AbortSignal; timeoutMs: number },
  check: ProbeCheck,
  classify: ThrownClassifier,
): Promise<ProbeResult> {
  const started = performance.now();
  const latency = () => Math.round((performance.now() - started) * 10) / 10;
  try {
    const extra = await runAttempt({ provider, signal: options.signal, timeoutMs: options.timeoutMs }, check, classify);
    return { state: 'active', ...extra, latencyMs: latency() };
  } catch (err) {
    // runAttempt rejects only with ProviderError; the guard keeps "never rejects" true even for a bug.
    const errorClass: ErrorClass = (err as { errorClass?: ErrorClass }).errorClass ?? 'invalid_response';
    const message = err instanceof Error ? err.message : 'probe failed';
    return { state: stateForProbeFailure(errorClass), latencyMs: latency(), error: { class: errorClass, message } };
  }
}
