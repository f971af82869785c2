import { afterEach, describe, expect, it, vi } from 'vitest';
import { clearOfDayBoundary, clearOfMinuteBoundary, waitFor } from '../src/testing.ts';

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

describe('clearOfDayBoundary', () => {
  it('returns at once away from midnight UTC, waits for it within the margin', async () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 11, 5, 23, 58, 0) });
    expect(await clearOfDayBoundary(60_000)).toBe(Date.UTC(2026, 11, 5, 23, 58, 0));
    vi.setSystemTime(Date.UTC(2026, 11, 31, 23, 59, 30));
    const cleared = clearOfDayBoundary(60_000);
    await vi.advanceTimersByTimeAsync(30_001);
    expect(await cleared).toBeGreaterThanOrEqual(Date.UTC(2027, 0, 1));
  });
});

describe('waitFor', () => {
  it('looks once more after its deadline: a condition that came true while the process was held is met', async () => {
    const start = Date.now();
    // Polled every 200 ms with a 50 ms deadline: the second look is already past it.
    const value = await waitFor(() => (Date.now() - start >= 50 ? 'met' : null), 'the deadline to pass', 50, 200);
    expect(value).toBe('met');
  });

  it('still throws, naming what it waited for, when the condition never holds', async () => {
    await expect(waitFor(() => null, 'nothing at all', 30, 10)).rejects.toThrow(/timed out after 30 ms waiting for nothing at all/);
  });
});
