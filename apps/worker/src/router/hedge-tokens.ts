/**
 * Owns hedge rationing for one process: a token bucket in the spirit of gRPC's retry throttling.
 * Every primary call earns HEDGE_RATIO tokens (up to HEDGE_BURST); a hedge (a timer-started extra
 * call, not a fallback after a failure) spends one whole token and is only launched when one is
 * there. So a burst of slow answers can add at most HEDGE_BURST hedges, then HEDGE_RATIO per call.
 */
import { type Event, EventEmitter } from './events.ts';

export class HedgeTokenBucket {
  private tokens: number;
  private readonly throttled = new EventEmitter<{ tokens: number }>();
  /** Fires when a hedge was wanted but no token was available. */
  readonly onThrottled: Event<{ tokens: number }> = this.throttled.event;

  constructor(
    private readonly ratio: number,
    private readonly capacity: number,
  ) {
    this.tokens = Math.max(0, capacity);
  }

  get available(): number {
    return this.tokens;
  }

  /** A primary call started: earn `ratio` tokens. */
  earn(): void {
    this.tokens = Math.min(this.capacity, this.tokens + this.ratio);
  }

  /** Spend one token for a hedge; false (and onThrottled) when the bucket holds less than one. */
  tryTake(): boolean {
    // The epsilon absorbs float drift from adding 0.1 ten times.
    if (this.tokens >= 1 - 1e-9) {
      this.tokens = Math.max(0, this.tokens - 1);
      return true;
    }
    this.throttled.emit({ tokens: this.tokens });
    return false;
  }
}
