/**
 * Owns one provider attempt's lifetime: the caller's AbortSignal and the per-attempt deadline folded
 * into one signal handed to the transport, and the rule that our own abort or deadline decides the
 * class (`aborted`, `timeout`) whatever the transport reports afterwards. The attempt settles the
 * moment either fires, without waiting for the transport to notice, and when it fails any request
 * still open is aborted so the upstream connection closes.
 */
import type { AbortSignalLike, DeploymentKind } from '@switchyard/shared';
import { describeThrown } from '../classify/network.ts';
import { ProviderError } from '../provider-error.ts';

export interface AttemptOptions {
  provider: DeploymentKind;
  signal?: AbortSignalLike | undefined;
  timeoutMs?: number | undefined;
}

type Ending = { kind: 'aborted'; reason: unknown } | { kind: 'timeout'; ms: number };

function reasonText(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  if (typeof reason === 'string') return reason;
  return '';
}

function endingError(provider: DeploymentKind, ending: Ending): ProviderError {
  if (ending.kind === 'timeout') {
    return new ProviderError({ errorClass: 'timeout', provider, message: `${provider}: no complete answer within ${ending.ms} ms` });
  }
  const why = reasonText(ending.reason);
  return new ProviderError({
    errorClass: 'aborted',
    provider,
    message: `${provider}: call aborted by the caller${why && why !== 'This operation was aborted' ? ` (${why.slice(0, 200)})` : ''}`,
  });
}

/** Fallback for whatever a transport throws that no adapter classified: keeps `chat()` rejecting only with ProviderError. */
export type ThrownClassifier = (err: unknown) => ProviderError;

/**
 * The reason every settled attempt's leftovers are aborted with: one shared instance, because a
 * DOMException captures a stack trace (~6 µs on Node 20) and this runs after every failed call.
 */
const SETTLED = new DOMException('attempt settled', 'AbortError');

/**
 * Runs `work` with a signal that fires on the caller's abort or the deadline. Resolves with its value;
 * rejects only with ProviderError: ours for abort/deadline, the work's own ProviderError, or
 * `classify(err)` for anything else.
 */
export async function runAttempt<T>(
  options: AttemptOptions,
  work: (signal: AbortSignal) => Promise<T>,
  classify: ThrownClassifier,
): Promise<T> {
  const { provider, signal, timeoutMs } = options;
  if (signal?.aborted) throw endingError(provider, { kind: 'aborted', reason: signal.reason });

  const controller = new AbortController();
  let ending: Ending | undefined;
  let settled = false;
  let rejectNow: (err: ProviderError) => void = () => {};
  const stopped = new Promise<never>((_, reject) => {
    rejectNow = reject;
  });
  stopped.catch(() => {});

  const end = (e: Ending) => {
    if (settled || ending) return;
    ending = e;
    // The transport sees a plain abort; the class is ours to decide, so the reason stays neutral.
    controller.abort(e.kind === 'timeout' ? new DOMException('attempt deadline', 'TimeoutError') : e.reason);
    rejectNow(endingError(provider, e));
  };
  const onCallerAbort = () => end({ kind: 'aborted', reason: signal?.reason });
  signal?.addEventListener('abort', onCallerAbort, { once: true });
  const timer = timeoutMs !== undefined && timeoutMs > 0 ? setTimeout(() => end({ kind: 'timeout', ms: timeoutMs }), timeoutMs) : undefined;

  let succeeded = false;
  try {
    const running = work(controller.signal);
    running.catch(() => {});
    const value = await Promise.race([running, stopped]);
    succeeded = true;
    return value;
  } catch (err) {
    if (ending) throw endingError(provider, ending);
    if (err instanceof ProviderError) throw err;
    let classified: unknown;
    try {
      classified = classify(err);
    } catch (classifierFailure) {
      classified = classifierFailure;
    }
    if (classified instanceof ProviderError) throw classified;
    throw new ProviderError({ errorClass: 'invalid_response', provider, message: `${provider}: ${describeThrown(err)}` });
  } finally {
    settled = true;
    if (timer) clearTimeout(timer);
    signal?.removeEventListener('abort', onCallerAbort);
    // Whatever a failed attempt left open (a stream we stopped reading after an in-band error) is
    // closed now. A successful one left nothing: the SDKs read a JSON body to its end, and our
    // stream readers cancel the body when their caller stops early. Aborting it anyway cost a
    // DOMException per call: the SDKs forward our abort to a controller of their own with no reason.
    if (!succeeded && !controller.signal.aborted) controller.abort(SETTLED);
  }
}

/**
 * Wraps the caller's onToken so a throwing callback ends the attempt as `aborted` (our side stopped
 * it; it must not count against the provider) instead of escaping as a foreign error.
 */
export function tokenSink(provider: DeploymentKind, onToken: ((delta: string) => void) | undefined): (delta: string) => void {
  if (!onToken) return () => {};
  return (delta: string) => {
    if (!delta) return;
    try {
      onToken(delta);
    } catch (err) {
      throw new ProviderError({ errorClass: 'aborted', provider, message: `${provider}: onToken callback threw: ${describeThrown(err)}` });
    }
  };
}

/** Thrown when a body is not what the wire format promises. */
export function invalidResponse(provider: DeploymentKind, what: string): ProviderError {
  return new ProviderError({ errorClass: 'invalid_response', provider, message: `${provider}: ${what}` });
}
