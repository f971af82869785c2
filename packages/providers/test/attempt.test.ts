/**
 * runAttempt's settle rule: a failed attempt aborts the signal it gave the transport, so whatever the
 * transport left open closes; a successful one leaves it alone. The SDKs forward our abort to a
 * controller of their own with no reason, which costs Node a DOMException (a stack trace) per call.
 */
import { describe, expect, it } from 'vitest';
import { ProviderError } from '../src/provider-error.ts';
import { runAttempt } from '../src/transport/attempt.ts';

const classify = (err: unknown) => new ProviderError({ errorClass: 'invalid_response', provider: 'openai', message: String(err) });

/** What an SDK does with the signal it is given: an AbortController of its own, following ours. */
function sdkLike(signal: AbortSignal) {
  const inner = new AbortController();
  signal.addEventListener('abort', () => inner.abort(), { once: true });
  return inner;
}

describe('runAttempt settles without aborting a successful call', () => {
  it('success: the transport signal is never aborted, so an SDK forwards nothing', async () => {
    let given: AbortSignal | undefined;
    let inner: AbortController | undefined;
    const value = await runAttempt(
      { provider: 'openai', timeoutMs: 5_000 },
      async (signal) => {
        given = signal;
        inner = sdkLike(signal);
        return 'ok';
      },
      classify,
    );
    expect(value).toBe('ok');
    expect(given?.aborted).toBe(false);
    expect(inner?.signal.aborted).toBe(false);
  });

  it.each([
    ['a ProviderError', () => new ProviderError({ errorClass: 'service_unavailable', provider: 'openai', message: '503' })],
    ['anything else', () => new TypeError('socket hang up')],
  ])('failure with %s: the transport signal is aborted once it settles', async (_name, error) => {
    let given: AbortSignal | undefined;
    let inner: AbortController | undefined;
    const failed = runAttempt(
      { provider: 'openai' },
      async (signal) => {
        given = signal;
        inner = sdkLike(signal);
        throw error();
      },
      classify,
    );
    await expect(failed).rejects.toBeInstanceOf(ProviderError);
    expect(given?.aborted).toBe(true);
    expect((given?.reason as DOMException | undefined)?.name).toBe('AbortError');
    expect(inner?.signal.aborted).toBe(true);
  });
});
