/** Owns the small zod schemas several routes share: headers, path parameters, the error envelope. */
import { z } from 'zod';
import { SETTLE_MS } from '../jobs/write-outcome.ts';

export const idempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x21-\x7e]+$/, 'Idempotency-Key must be 1-255 printable ASCII characters without spaces')
    .optional()
    .describe(
      'Resubmitting with the same key returns the same job instead of a new one (scoped per client key). ' +
        '`sy-job:<uuid>` names the job id itself: the key a 503 `outcome_unknown` gives a client that sent none.',
    ),
});

/** Route docs: what a submission's 503 means when Redis left the write's outcome unclear (jobs/write-outcome.ts). */
export const OUTCOME_UNKNOWN_DOC = [
  'A write Redis does not confirm within its 1 s command deadline is repeated on the same connection',
  `(same job ids, so never twice) for up to ${SETTLE_MS / 1000} s more; a late success is an ordinary answer.`,
  'Past that: 503 with error.code "outcome_unknown", the job id(s) (job_id, or job_ids for a batch) and',
  "idempotency_key (idempotency_keys): the client's own key, or sy-job:<id> when it sent none. Resubmitting",
  'with that key can only ever reach the same job; GET /v1/jobs/<id> shows whether it exists. Without a key',
  'the answer carries x-should-retry: false, so SDKs that retry 5xx by themselves do not resubmit blindly.',
  'Redis unreachable before the write: a plain 503, nothing written.',
].join(' ');

export const jobParams = z.object({
  id: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9_-]+$/, 'job ids are letters, digits, _ and -'),
});

/** Every error: OpenAI's ErrorResponse shape, plus our extras (issues, provider). */
export const errorSchema = z.object({
  error: z.looseObject({
    type: z.string(),
    message: z.string(),
    param: z.string().nullable(),
    code: z.string().nullable(),
  }),
});
