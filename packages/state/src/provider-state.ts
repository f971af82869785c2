/**
 * Owns provider state records: what the fleet last learned about each provider (`state`,
 * `last_error` {class, message, at}, `checked_at`, credits where known), written by worker
 * reports (success -> active, a classified failure -> its state) and by status probes, read back
 * through zod. Messages are scrubbed of secrets and cut short before they are stored.
 */
import {
  type DeploymentId,
  ERROR_CLASSES,
  type ErrorClass,
  PROVIDER_STATES,
  type ProviderState,
  type RedisClient,
  redactSecrets,
} from '@switchyard/shared';
import type { ChainableCommander } from 'ioredis';
import { z } from 'zod';
import type { StateKeys } from './keys.ts';
import type { StateLogger } from './logger.ts';
import type { ScriptArg, ScriptRunner } from './scripts.ts';
import { isEmptyHash, nullableInt, parseStored } from './validate.ts';

export const MAX_MESSAGE_LENGTH = 300;

export const creditsSchema = z.object({
  remaining: z.number().nullable(),
  limit: z.number().nullable(),
  usage: z.number().nullable(),
});
export type Credits = z.infer<typeof creditsSchema>;

export interface LastError {
  class: ErrorClass;
  message: string;
  at: number;
}

export interface ProviderRecord {
  state: ProviderState;
  /** Last time anything (a report or a probe) confirmed the state. */
  checked_at: number;
  /** Last time a status probe wrote the state. */
  probed_at: number | null;
  source: 'report' | 'probe';
  last_error: LastError | null;
  credits?: Credits;
}

const storedSchema = z
  .object({
    state: z.enum(PROVIDER_STATES),
    checked_at: nullableInt.pipe(z.number()),
    probed_at: nullableInt.optional(),
    source: z.enum(['report', 'probe']).default('report'),
    last_error_class: z.enum(ERROR_CLASSES).optional(),
    last_error_message: z.string().optional(),
    last_error_at: nullableInt.optional(),
    credits: z
      .string()
      .optional()
      .transform((raw, ctx) => {
        if (raw === undefined || raw === '') return undefined;
        try {
          const parsed = creditsSchema.safeParse(JSON.parse(raw));
          if (parsed.success) return parsed.data;
        } catch {}
        ctx.addIssue({ code: 'custom', message: 'credits is not a valid credits object' });
        return z.NEVER;
      }),
  })
  .transform(
    (r): ProviderRecord => ({
      state: r.state,
      checked_at: r.checked_at,
      probed_at: r.probed_at ?? null,
      source: r.source,
      last_error:
        r.last_error_class && r.last_error_at != null
          ? { class: r.last_error_class, message: r.last_error_message ?? '', at: r.last_error_at }
          : null,
      ...(r.credits ? { credits: r.credits } : {}),
    }),
  );

/** Secret-free, single-line, short: the only form a provider message is ever stored in. */
export function safeMessage(message: string | undefined): string {
  if (!message) return '';
  const flat = redactSecrets(message)
    .replace(/\p{Cc}+/gu, ' ')
    .trim();
  return flat.length > MAX_MESSAGE_LENGTH ? `${flat.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : flat;
}

export interface StateUpdate {
  state: ProviderState;
  errorClass?: ErrorClass;
  message?: string;
  credits?: Credits;
  latencyMs?: number;
}

export class ProviderStateRecords {
  constructor(
    private readonly redis: RedisClient,
    private readonly runner: ScriptRunner,
    private readonly keys: StateKeys,
    private readonly channel: string,
    private readonly logger: StateLogger,
  ) {}

  private args(provider: DeploymentId, now: number, source: 'report' | 'probe', update: StateUpdate): ScriptArg[] {
    return [
      now,
      source,
      update.state,
      update.errorClass ?? '',
      update.errorClass ? safeMessage(update.message) : '',
      update.credits ? JSON.stringify(update.credits) : '',
      update.latencyMs !== undefined ? Math.max(0, Math.round(update.latencyMs)) : '',
      this.channel,
      provider,
    ];
  }

  /** Queues a worker report's state change on the report pipeline. */
  queueReport(pipeline: ChainableCommander, provider: DeploymentId, now: number, update: StateUpdate): void {
    this.runner.queue(pipeline, 'provider-state', [this.keys.provider(provider).state], this.args(provider, now, 'report', update));
  }

  /** Writes a status probe's result. */
  async writeProbe(provider: DeploymentId, now: number, update: StateUpdate): Promise<void> {
    await this.runner.run('provider-state', [this.keys.provider(provider).state], this.args(provider, now, 'probe', update));
  }

  /** Validates an HGETALL reply: null when missing or invalid (logged). */
  parse(provider: DeploymentId, raw: Record<string, string>): ProviderRecord | null {
    if (isEmptyHash(raw)) return null;
    return parseStored(storedSchema, raw, this.logger, `provider state of ${provider}`);
  }

  async read(provider: DeploymentId): Promise<ProviderRecord | null> {
    return this.parse(provider, await this.redis.hgetall(this.keys.provider(provider).state));
  }
}
