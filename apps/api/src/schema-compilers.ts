/**
 * Owns how route schemas become request validators and response serializers: zod's ahead-of-time
 * compiled fast path (`z.compile`) in front of fastify-type-provider-zod's compilers.
 *
 * - Requests: a valid one runs generated code; an invalid one falls back to zod's runtime parser,
 *   so every 400 names the same fields with the same messages as before. An empty query string
 *   gets a copy of the answer zod gave for one, worked out when the route is compiled. Schemas zod cannot compile
 *   (async refinements) keep the runtime parser. Headers of a plain data shape are checked and left
 *   as they came (see below).
 * - Responses: fastify-type-provider-zod checks a reply with `safeEncode`, zod's backward direction,
 *   which never takes the compiled path and costs ~27x a parse of the same object (2.7 µs against
 *   0.1 µs for the 202 of `POST /v1/jobs`). For a schema built only of plain data shapes (no
 *   transform, pipe, default or catch anywhere in it: `isPlainDataShape`) a parse checks and returns
 *   exactly what an encode does, so those are checked with the compiled parse; the rest keep
 *   `safeEncode`. A reply that does not fit its schema is still a 500, as before.
 *
 * Why: validation and the reply check were the largest cost `POST /v1/jobs` adds over a bare
 * enqueue (zod and its Fastify glue ~16 µs of the ~80 µs per request in a CPU profile under B2's
 * load, bench/README.md).
 */
import type { FastifySchemaCompiler } from 'fastify';
import {
  ResponseSerializationError,
  serializerCompiler as runtimeSerializerCompiler,
  validatorCompiler as runtimeValidatorCompiler,
} from 'fastify-type-provider-zod';
import { type ZodType, z } from 'zod';

/** A validator's answer that leaves the request part as it came (Fastify assigns only a `value`). */
const VALID_AS_IS = Object.freeze({});

export const compiledValidatorCompiler: FastifySchemaCompiler<ZodType> = (route) => {
  const validate = runtimeValidatorCompiler({ ...route, schema: z.compile(route.schema) });
  if (route.httpPart === 'querystring') return withEmptyQueryAnswer(validate);
  if (route.httpPart !== 'headers' || !isPlainDataShape(route.schema)) return validate;
  // Fastify stores a headers validator's value as extra headers, and from then on every read of
  // request.headers copies all the headers into a new object. A plain shape's value holds the
  // same strings as the raw headers, so those stay as they are.
  return (data) => {
    const result = validate(data) as { error?: unknown };
    return result.error ? result : VALID_AS_IS;
  };
};

type Validate = ReturnType<FastifySchemaCompiler<ZodType>>;

/**
 * Most requests come without a query string (a status page polled thousands of times a second):
 * the answer for an empty one is worked out once, and each such request gets a copy of it, so zod
 * runs only for requests that send a query. Only when that answer is flat (a copy shares nothing)
 * and the schema takes an empty query at all; else every request is validated as before.
 */
function withEmptyQueryAnswer(validate: Validate): Validate {
  let answer: { value?: unknown; error?: unknown };
  try {
    answer = validate({}) as { value?: unknown; error?: unknown };
  } catch {
    return validate;
  }
  const value = answer.value;
  if (answer.error || typeof value !== 'object' || value === null) return validate;
  if (!Object.values(value).every((v) => v === null || typeof v !== 'object')) return validate;
  return (data) => (isEmpty(data) ? { value: { ...value } } : validate(data));
}

function isEmpty(data: unknown): boolean {
  for (const _ in data as object) return false;
  return true;
}

/** Schema kinds whose parse and encode agree: they check a value and hand it back as it is. */
const LEAVES = new Set(['string', 'number', 'int', 'boolean', 'bigint', 'null', 'undefined', 'unknown', 'any', 'enum', 'literal', 'date']);

interface DefLike {
  type: string;
  shape?: Record<string, { _zod: { def: DefLike } }>;
  catchall?: { _zod: { def: DefLike } };
  element?: { _zod: { def: DefLike } };
  innerType?: { _zod: { def: DefLike } };
  options?: Array<{ _zod: { def: DefLike } }>;
  keyType?: { _zod: { def: DefLike } };
  valueType?: { _zod: { def: DefLike } };
}

/**
 * True when every node of the schema is a plain data shape: objects, arrays, records, unions,
 * optional/nullable wrappers and leaves. A transform, pipe, default, catch, lazy or anything
 * unlisted makes it false, and the caller keeps zod's encode.
 */
export function isPlainDataShape(schema: ZodType): boolean {
  const def = (schema as unknown as { _zod: { def: DefLike } })._zod.def;
  const plain = (child: { _zod: { def: DefLike } } | undefined) => child === undefined || isPlainDataShape(child as unknown as ZodType);
  if (LEAVES.has(def.type)) return true;
  switch (def.type) {
    case 'object':
      return Object.values(def.shape ?? {}).every(plain) && plain(def.catchall);
    case 'array':
      return plain(def.element);
    case 'optional':
    case 'nullable':
      return plain(def.innerType);
    case 'union':
      return (def.options ?? []).every(plain);
    case 'record':
      return plain(def.keyType) && plain(def.valueType);
    default:
      return false;
  }
}

/** The schema compiled, when it is a plain data shape zod can compile; else undefined. */
function compiledDataShape(schema: ZodType): ZodType | undefined {
  if (!isPlainDataShape(schema)) return undefined;
  try {
    return z.compile(schema, { strict: true });
  } catch {
    return undefined;
  }
}

export const compiledSerializerCompiler: typeof runtimeSerializerCompiler = (route) => {
  const compiled = route.schema instanceof z.ZodType ? compiledDataShape(route.schema) : undefined;
  if (!compiled) return runtimeSerializerCompiler(route);
  return (data) => {
    const result = compiled.safeParse(data);
    if (!result.success) throw new ResponseSerializationError(route.method, route.url, { cause: result.error });
    return JSON.stringify(result.data);
  };
};
