import { afterEach, describe, expect, it, vi } from 'vitest';
import { clearOfMinuteBoundary } from '../src/testing.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('clearOfMinuteBoundary', () => {
  it('returns at once with the margin left in the minute', async () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 11, 5, 12, 0, 50) });
    expect(await clearOfMinuteBoundary(10_000)).toBe(Date.UTC(2026, 11, 5, 12, 0, 50));
  });

  it('waits for the next minute, across midnight too, when less is left', async () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 11, 5, 23, 59, 55) });
    const cleared = clearOfMinuteBoundary(10_000);
    await vi.advanceTimersByTimeAsync(5_001);
    const at = await cleared;
    expect(at).toBeGreaterThanOrEqual(Date.UTC(2026, 11, 6, 0, 0, 0));
    expect(at).toBeLessThan(Date.UTC(2026, 11, 6, 0, 0, 1));
  });

  it('refuses a margin of a minute or more', async () => {
    await expect(clearOfMinuteBoundary(60_000)).rejects.toThrow(RangeError);
  });
});
