import { describe, expect, it } from 'vitest';
import { type AbortSignalLike, LightAbortController } from '../src/light-abort.ts';

describe('LightAbortController', () => {
  it('aborts once with the reason, runs every listener once in order, function and handleEvent alike', () => {
    const controller = new LightAbortController();
    const seen: string[] = [];
    controller.signal.addEventListener('abort', () => seen.push(`a:${String(controller.signal.reason)}`));
    controller.signal.addEventListener('abort', { handleEvent: () => seen.push('b') });
    controller.signal.addEventListener('abort', () => seen.push('c'));
    expect(controller.signal.aborted).toBe(false);
    controller.abort('shutdown');
    controller.abort('again');
    expect(controller.signal.aborted).toBe(true);
    expect(controller.signal.reason).toBe('shutdown');
    expect(seen).toEqual(['a:shutdown', 'b', 'c']);
  });

  it('a removed listener does not run, whichever position it had', () => {
    for (const removeAt of [0, 1, 2]) {
      const controller = new LightAbortController();
      const seen: number[] = [];
      const listeners = [0, 1, 2].map((n) => () => seen.push(n));
      for (const l of listeners) controller.signal.addEventListener('abort', l);
      controller.signal.removeEventListener('abort', listeners[removeAt]!);
      controller.abort();
      expect(seen).toEqual([0, 1, 2].filter((n) => n !== removeAt));
    }
  });

  it('without a reason aborts with an AbortError DOMException, as AbortController does', () => {
    const controller = new LightAbortController();
    controller.abort();
    expect(controller.signal.reason).toBeInstanceOf(DOMException);
    expect((controller.signal.reason as DOMException).name).toBe('AbortError');
  });

  it('a throwing listener does not stop the others', async () => {
    const controller = new LightAbortController();
    const seen: string[] = [];
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    // vitest installs its own handler; ours sees the error the way EventTarget would report it.
    process.prependListener('uncaughtException', onUncaught);
    try {
      controller.signal.addEventListener('abort', () => {
        throw new Error('listener bug');
      });
      controller.signal.addEventListener('abort', () => seen.push('second'));
      controller.abort();
      expect(seen).toEqual(['second']);
      await new Promise((r) => setTimeout(r, 10));
      expect(uncaught).toEqual([expect.objectContaining({ message: 'listener bug' })]);
    } finally {
      process.removeListener('uncaughtException', onUncaught);
    }
  });

  it('a real AbortSignal is an AbortSignalLike (callers and tests may pass one)', () => {
    const real: AbortSignalLike = new AbortController().signal;
    expect(real.aborted).toBe(false);
  });
});
