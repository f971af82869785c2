/** Owns the small zod schemas several routes share: headers, path parameters, the error envelope. */
import { z } from 'zod';

export const idempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x21-\x7e]+$/, 'Idempotency-Key must be 1-255 printable ASCII characters without spaces')
    .optional(),
});

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
