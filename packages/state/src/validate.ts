/**
 * Owns reading stored records back: zod helpers for Redis hash fields (everything arrives as a
 * string) and the rule of DESIGN.md section 1: a record that fails validation is logged and
 * treated as missing, never thrown at a request.
 */
import type { z } from 'zod';
import { z as zod } from 'zod';
import type { StateLogger } from './logger.ts';

/** A stored epoch-ms or count field: '' or absent -> null. */
export const nullableInt = zod.preprocess(
  (v) => (v === undefined || v === null || v === '' ? null : Number(v)),
  zod.number().int().nonnegative().nullable(),
);

/** A stored counter: absent -> 0. */
export const counter = zod.preprocess((v) => (v === undefined || v === '' ? 0 : Number(v)), zod.number().int().nonnegative());

/**
 * Validates `raw` against `schema`. On failure: one warning naming the record and the problems
 * (never the values: a record could hold anything), and null.
 */
export function parseStored<S extends z.ZodType>(schema: S, raw: unknown, logger: StateLogger, what: string): z.infer<S> | null {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  logger.warn(
    { record: what, issues: parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`) },
    'stored record failed validation; treated as missing',
  );
  return null;
}

/** Redis HGETALL of a missing key is {}; that is "missing", not "invalid". */
export function isEmptyHash(raw: Record<string, string>): boolean {
  for (const _ in raw) return false;
  return true;
}
