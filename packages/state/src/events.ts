/**
 * Owns state-change events: their zod schema (the Lua scripts publish them as JSON in the same
 * atomic step as the change) and a subscriber for the dashboard's SSE. Events carry provider
 * names, states, classes and times, never a secret.
 */
import { DEPLOYMENT_ID_PATTERN, ERROR_CLASSES, PROVIDER_STATES, type RedisClient } from '@switchyard/shared';
import { Cluster } from 'ioredis';
import { z } from 'zod';
import { stateEventsChannel } from './keys.ts';
import type { StateLogger } from './logger.ts';

export { stateEventsChannel };

export const CIRCUIT_STATES = ['closed', 'open', 'half_open'] as const;
export type CircuitState = (typeof CIRCUIT_STATES)[number];

const ms = z.number().int().nonnegative();
/** The deployment the event is about (its health key). */
const deploymentId = z.string().regex(DEPLOYMENT_ID_PATTERN);

export const circuitEventSchema = z.object({
  type: z.literal('circuit'),
  provider: deploymentId,
  from: z.enum(CIRCUIT_STATES),
  to: z.enum(CIRCUIT_STATES),
  /**
   * consecutive_failures / failure_rate: closed -> open. probe_failed: half_open -> open.
   * probe_succeeded / manual_reset: -> closed. reset_elapsed: open -> half_open (lease granted).
   * lease_expired: half_open -> half_open (the previous probe's holder never reported).
   * probe_released: half_open -> half_open (the holder aborted its probe: the next caller may probe).
   * failure_counted / failures_reset: closed -> closed, the first counted failure of a streak and
   * the success that ends it (consecutive_failures 1 and 0).
   */
  reason: z.enum([
    'consecutive_failures',
    'failure_rate',
    'probe_failed',
    'probe_succeeded',
    'reset_elapsed',
    'lease_expired',
    'probe_released',
    'manual_reset',
    'failure_counted',
    'failures_reset',
  ]),
  consecutive_failures: z.number().int().nonnegative(),
  opened_at: ms.optional(),
  next_probe_at: ms.optional(),
  lease_until: ms.optional(),
  error_class: z.enum(ERROR_CLASSES).optional(),
  at: ms,
});

export const providerStateEventSchema = z.object({
  type: z.literal('provider_state'),
  provider: deploymentId,
  from: z.enum(PROVIDER_STATES),
  to: z.enum(PROVIDER_STATES),
  source: z.enum(['report', 'probe']),
  error_class: z.enum(ERROR_CLASSES).optional(),
  at: ms,
});

export const cooldownEventSchema = z.object({
  type: z.literal('cooldown'),
  provider: deploymentId,
  until: ms,
  at: ms,
});

export const stateEventSchema = z.discriminatedUnion('type', [circuitEventSchema, providerStateEventSchema, cooldownEventSchema]);

export type CircuitEvent = z.infer<typeof circuitEventSchema>;
export type ProviderStateEvent = z.infer<typeof providerStateEventSchema>;
export type CooldownEvent = z.infer<typeof cooldownEventSchema>;
export type StateEvent = z.infer<typeof stateEventSchema>;

/** Parses one published message; null (and a log line) for anything that does not fit. */
export function parseStateEvent(message: string, logger?: StateLogger): StateEvent | null {
  let raw: unknown;
  try {
    raw = JSON.parse(message);
  } catch {
    logger?.warn({ channel: 'state-events' }, 'state event is not JSON; dropped');
    return null;
  }
  const parsed = stateEventSchema.safeParse(raw);
  if (!parsed.success) {
    logger?.warn({ issues: parsed.error.issues.slice(0, 3) }, 'state event does not match its schema; dropped');
    return null;
  }
  return parsed.data;
}

export interface StateEventSubscription {
  /** Resolves once the subscription is active: events published after it are delivered. */
  ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * Subscribes on a connection of its own (a subscribed connection can run nothing else) and calls
 * `onEvent` with each validated event. Handler errors are logged, never thrown into ioredis.
 */
export function subscribeStateEvents(
  redis: RedisClient,
  namespace: string,
  onEvent: (event: StateEvent) => void,
  logger?: StateLogger,
  /** Told when the subscription goes down (events may be lost from then on) and when it is back. */
  onLive?: (live: boolean) => void,
): StateEventSubscription {
  const channel = stateEventsChannel(namespace);
  // The caller's client is usually a request-path one (no offline queue: fails fast while Redis is
  // down). A subscriber must instead wait for its connection and resubscribe after reconnects.
  const subscriberOptions = { enableOfflineQueue: true, maxRetriesPerRequest: null, commandTimeout: undefined };
  // Narrowed by hand: the union of the two duplicate() signatures is not callable as such.
  const subscriber: RedisClient =
    redis instanceof Cluster
      ? redis.duplicate(undefined, { enableOfflineQueue: true, redisOptions: { ...redis.options.redisOptions, ...subscriberOptions } })
      : redis.duplicate(subscriberOptions);
  subscriber.on('error', (err: Error) => logger?.warn({ err: err.message }, 'state event subscriber connection error'));
  subscriber.on('message', (from: string, message: string) => {
    if (from !== channel) return;
    const event = parseStateEvent(message, logger);
    if (!event) return;
    try {
      onEvent(event);
    } catch (err) {
      logger?.error({ err: (err as Error).message }, 'state event handler threw');
    }
  });
  let subscribed = false;
  const ready = subscriber.subscribe(channel).then(() => {
    subscribed = true;
    onLive?.(true);
  });
  ready.catch(() => {});
  if (onLive) {
    subscriber.on('close', () => onLive(false));
    // ioredis re-subscribes as it turns ready again after a reconnect.
    subscriber.on('ready', () => {
      if (subscribed) onLive(true);
    });
  }
  return {
    ready,
    close: async () => {
      onLive?.(false);
      try {
        await subscriber.quit();
      } catch {
        subscriber.disconnect();
      }
    },
  };
}
