/**
 * Owns the retry-after of a failed completion, read from the fleet's own state: a rate-limited
 * provider's cooldown, or, when no provider was available, the earliest moment one will be (a
 * cooldown ending or an open circuit's next probe). Falls back to 1 s; never waits long for Redis.
 */
import type { DeploymentId, JobError } from '@switchyard/shared';
import type { StateStore } from '@switchyard/state';

const MAX_S = 600;
const READ_DEADLINE_MS = 250;

async function availableAt(state: StateStore, provider: DeploymentId, now: number): Promise<number | null> {
  const [cooldown, circuit] = await Promise.all([state.cooldown.read(provider, now), state.breaker.read(provider)]);
  const probeAt = circuit.state === 'open' ? circuit.next_probe_at : null;
  const at = Math.max(cooldown ?? 0, probeAt ?? 0);
  return at > now ? at : null;
}

/** `deployments`: the running config's deployment ids (the health keys). */
export async function retryAfterSeconds(state: StateStore, deployments: readonly DeploymentId[], error: JobError): Promise<number> {
  if (error.class !== 'rate_limited' && error.class !== 'no_provider_available') return 1;
  const now = Date.now();
  // The deployment that asked for the wait, when the job's story names it (implicit ones are named after their provider).
  const limited = error.last_error?.deployment ?? error.provider;
  const candidates = error.class === 'rate_limited' && limited && deployments.includes(limited) ? [limited] : deployments;
  let timer: NodeJS.Timeout | undefined;
  try {
    const times: Array<number | null> = await Promise.race([
      Promise.all(candidates.map((p) => availableAt(state, p, now))),
      new Promise<Array<number | null>>((resolve) => {
        timer = setTimeout(() => resolve([]), READ_DEADLINE_MS);
      }),
    ]);
    const known = times.filter((t): t is number => t !== null);
    if (known.length === 0) return 1;
    return Math.min(MAX_S, Math.max(1, Math.ceil((Math.min(...known) - now) / 1000)));
  } catch {
    return 1;
  } finally {
    clearTimeout(timer);
  }
}
