/**
 * Owns the router's event primitive, in cockatiel's style: a policy exposes `onX` as an `Event<T>`
 * (subscribe with a listener, get a Disposable back) and fires it through a private EventEmitter.
 * A listener that throws never breaks the policy that fired it: the error goes to `onListenerError`.
 */

export interface Disposable {
  dispose(): void;
}

/** Subscribe to an event; dispose the result to unsubscribe. */
export type Event<T> = (listener: (value: T) => void) => Disposable;

export class EventEmitter<T> {
  private readonly listeners = new Set<(value: T) => void>();

  constructor(private readonly onListenerError?: (err: unknown) => void) {}

  // Made by a module function, not a class-field arrow: tsx's keepNames would wrap the arrow in a
  // defineProperty call for every emitter, and a Budget makes one per job.
  readonly event: Event<T> = subscriberOf(this.listeners);

  get size(): number {
    return this.listeners.size;
  }

  emit(value: T): void {
    if (this.listeners.size === 0) return;
    for (const listener of [...this.listeners]) {
      try {
        listener(value);
      } catch (err) {
        this.onListenerError?.(err);
      }
    }
  }
}

function subscriberOf<T>(listeners: Set<(value: T) => void>): Event<T> {
  return (listener) => {
    listeners.add(listener);
    return new Subscription(listeners, listener);
  };
}

class Subscription<T> implements Disposable {
  constructor(
    private readonly listeners: Set<(value: T) => void>,
    private readonly listener: (value: T) => void,
  ) {}

  dispose(): void {
    this.listeners.delete(this.listener);
  }
}
