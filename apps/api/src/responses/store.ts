/**
 * Owns stored responses (`store`, the default): one Redis key per response,
 * `<namespace>:{resp:<id>}` (its own hash tag, so responses spread over a cluster's slots), holding
 * the Response object, the conversation that led to it (for previous_response_id), which part of it
 * was this request's input (for listInputItems) and its owner as a digest of the client id,
 * expiring after RESULT_TTL_S. A response belongs to the client key that
 * created it: for any other key it does not exist, exactly as an unknown id does. Records are
 * validated with zod on the way out; a bad one is logged and treated as missing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { chatMessageSchema, type Logger, type RedisClient } from '@switchyard/shared';
import { z } from 'zod';
import { inputShapeSchema } from './input-items.ts';
import { type ResponseObject, responseObjectSchema } from './response.ts';

export const responseKey = (namespace: string, id: string) => `${namespace}:{resp:${id}}`;

/** The owner as stored: never the client id itself (which names a key's digest or an address). */
export function ownerDigest(clientId: string): string {
  return createHash('sha256').update(`switchyard-response-owner\0${clientId}`).digest('hex');
}

const storedResponseSchema = z.object({
  owner: z.string().regex(/^[0-9a-f]{64}$/),
  response: responseObjectSchema,
  /** The conversation without instructions: what a continuation puts before its own input. */
  conversation: z.array(chatMessageSchema),
  /** This request's own input items, the conversation's tail (input-items.ts); absent in older records. */
  input: inputShapeSchema.optional(),
});
export type StoredResponse = z.infer<typeof storedResponseSchema>;

export class ResponseStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly namespace: string,
    private readonly ttlS: number,
    private readonly logger: Logger,
  ) {}

  async save(
    clientId: string,
    response: ResponseObject,
    conversation: StoredResponse['conversation'],
    input: NonNullable<StoredResponse['input']>,
  ): Promise<void> {
    const record: StoredResponse = { owner: ownerDigest(clientId), response, conversation, input };
    await this.redis.set(responseKey(this.namespace, response.id), JSON.stringify(record), 'EX', this.ttlS);
  }

  /** The response if it exists and `clientId` owns it; null otherwise, whichever it is. */
  async get(id: string, clientId: string): Promise<StoredResponse | null> {
    const raw = await this.redis.get(responseKey(this.namespace, id));
    if (raw === null) return null;
    let parsed: ReturnType<typeof storedResponseSchema.safeParse>;
    try {
      parsed = storedResponseSchema.safeParse(JSON.parse(raw));
    } catch {
      parsed = storedResponseSchema.safeParse(undefined);
    }
    if (!parsed.success) {
      this.logger.warn(
        { responseId: id, issues: parsed.error.issues.slice(0, 3).map((i) => i.path.join('.')) },
        'stored response is unreadable; treated as missing',
      );
      return null;
    }
    return ownedBy(parsed.data.owner, clientId) ? parsed.data : null;
  }

  /** Deletes the response if `clientId` owns it; false when there was none to delete (for this client). */
  async delete(id: string, clientId: string): Promise<boolean> {
    const found = await this.get(id, clientId);
    if (!found) return false;
    return (await this.redis.del(responseKey(this.namespace, id))) > 0;
  }
}

function ownedBy(owner: string, clientId: string): boolean {
  return timingSafeEqual(Buffer.from(owner, 'hex'), Buffer.from(ownerDigest(clientId), 'hex'));
}
