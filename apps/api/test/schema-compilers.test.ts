/**
 * The compiled validators (schema-compilers.ts) must answer exactly as zod's runtime parser does:
 * the same value for a valid body, the same issues for an invalid one; the compiled serializers
 * must write what the runtime's encode writes, and refuse what it refuses. And the request schemas on
 * the hot routes must stay compilable: a change that makes zod refuse one (a transform, an async
 * refinement) would silently put that route back on the slow parser, so it fails here by name.
 */
import { JOB_STATUSES, jobRequestSchema, jobViewSchema } from '@switchyard/shared';
import fc from 'fast-check';
import Fastify, { type FastifySchema } from 'fastify';
import { serializerCompiler as runtimeSerializerCompiler, validatorCompiler as runtimeValidatorCompiler } from 'fastify-type-provider-zod';
import { describe, expect, it } from 'vitest';
import { type ZodType, z } from 'zod';
import { chatCompletionRequestSchema } from '../src/openai/request.ts';
import { batchSchema } from '../src/routes/job-batch.ts';
import { errorSchema, idempotencyHeaders } from '../src/routes/schemas.ts';
import { compiledSerializerCompiler, compiledValidatorCompiler, isPlainDataShape } from '../src/schema-compilers.ts';

const HOT_SCHEMAS: Array<[string, ZodType]> = [
  ['POST /v1/jobs body', jobRequestSchema],
  ['POST /v1/jobs/batch body', batchSchema],
  ['POST /v1/chat/completions body', chatCompletionRequestSchema],
  ['Idempotency-Key header', idempotencyHeaders],
];

const route = (schema: ZodType) => ({ schema: schema as FastifySchema & ZodType, method: 'POST', url: '/x', httpPart: 'body' });

/** A validator's answer, comparable with toEqual: the value, or the issues (code, path, message, params). */
function outcome(result: unknown): { value?: unknown; issues?: unknown } {
  const r = result as { value?: unknown; error?: unknown[] };
  if (r.error) return { issues: JSON.parse(JSON.stringify(r.error)) };
  return { value: r.value };
}

/** Mostly valid, sometimes not: so that both valid and invalid bodies are drawn often. */
const mostly = <T, U>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<U>) =>
  fc.oneof({ weight: 12, arbitrary: valid }, { weight: 1, arbitrary: invalid as fc.Arbitrary<T | U> });

const content = mostly(
  fc.oneof(fc.string({ maxLength: 20 }), fc.constant('😀'.repeat(3))),
  fc.oneof(
    fc.constant(null),
    fc.integer(),
    fc.array(fc.record({ type: fc.constantFrom('text', 'image_url'), text: fc.string({ maxLength: 5 }) }), { maxLength: 2 }),
  ),
);
const message = fc.record(
  {
    role: mostly(fc.constantFrom('system', 'user', 'assistant', 'tool', 'developer'), fc.constantFrom('function', 'robot', 7)),
    content,
    name: mostly(fc.string({ maxLength: 3 }), fc.constant('n'.repeat(70))),
    extra: fc.jsonValue({ maxDepth: 1 }),
  },
  { requiredKeys: ['role', 'content'], noNullPrototype: true },
);
const model = mostly(
  fc.constantFrom('mock/echo', 'openai/gpt-4o', 'ollama/llama3:8b', 'anthropic/claude-3-5-haiku'),
  fc.oneof(fc.constantFrom('nope/x', 'mock', 'mo', ''), fc.string({ maxLength: 8 }), fc.integer()),
);
const body = fc.record(
  {
    model,
    models: mostly(fc.array(model, { maxLength: 3 }), fc.array(model, { minLength: 10, maxLength: 12 })),
    fallbacks: mostly(fc.array(model, { maxLength: 3 }), fc.array(model, { minLength: 9, maxLength: 12 })),
    messages: mostly(fc.array(message, { minLength: 1, maxLength: 3 }), fc.constantFrom('hi', [], null)),
    max_tokens: mostly(
      fc.integer({ min: 1, max: 1_000_000 }),
      fc.oneof(fc.integer({ min: -2, max: 0 }), fc.double(), fc.constant(Number.MAX_SAFE_INTEGER + 2)),
    ),
    temperature: mostly(
      fc.double({ min: 0, max: 2, noNaN: true }),
      fc.oneof(fc.double({ min: 2.0001, max: 9, noNaN: true }), fc.constant('hot')),
    ),
    budget_ms: mostly(fc.integer({ min: 100, max: 600_000 }), fc.integer({ min: 0, max: 99 })),
    priority: mostly(fc.integer({ min: 0, max: 1_000 }), fc.constantFrom(-1, 1_001, 0.5)),
    metadata: mostly(
      fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
      fc.constant({ ['k'.repeat(65)]: 1 }),
    ),
    stream: mostly(fc.boolean(), fc.constantFrom(null, 'yes')),
    surprise: fc.jsonValue({ maxDepth: 1 }),
  },
  { requiredKeys: ['messages'], noNullPrototype: true },
);

describe('compiled request validation', () => {
  it.each(HOT_SCHEMAS)('%s compiles (zod refuses nothing in it)', (_name, schema) => {
    expect(() => z.compile(schema, { strict: true })).not.toThrow();
  });

  it('answers as the runtime parser on valid and invalid bodies (property)', () => {
    const validators = [jobRequestSchema, chatCompletionRequestSchema].map((schema) => ({
      compiled: compiledValidatorCompiler(route(schema)),
      runtime: runtimeValidatorCompiler(route(schema)),
    }));
    let valid = 0;
    fc.assert(
      fc.property(body, (candidate) => {
        for (const { compiled, runtime } of validators) {
          const fast = outcome(compiled(structuredClone(candidate)));
          expect(fast).toEqual(outcome(runtime(structuredClone(candidate))));
          if (fast.value !== undefined) valid++;
        }
      }),
      { numRuns: 2_000 },
    );
    // The property is only worth something if both sides of it were drawn.
    expect(valid).toBeGreaterThan(200);
    expect(valid).toBeLessThan(3_800);
  });

  it('a batch of valid jobs and one bad item: same value, same issue paths', () => {
    const compiled = compiledValidatorCompiler(route(batchSchema));
    const runtime = runtimeValidatorCompiler(route(batchSchema));
    const good = { jobs: [{ model: 'mock/echo', messages: [{ role: 'user', content: 'a' }], idempotency_key: 'k-1' }] };
    expect(outcome(compiled(good))).toEqual({ value: good });
    const bad = { jobs: [...good.jobs, { model: 'nope/x', messages: [] }] };
    const fast = outcome(compiled(bad));
    expect(fast.issues).toBeDefined();
    expect(fast).toEqual(outcome(runtime(bad)));
  });
});

describe('compiled response serialization', () => {
  const accepted = z.object({ id: z.string(), status: z.enum(JOB_STATUSES) });
  const attempt = { provider: 'mock', model: 'echo', outcome: 'success', started_ms: 0, latency_ms: 1.5, hedge: false };
  const completed = {
    id: 'job-1',
    status: 'completed',
    model: 'mock/echo',
    created_at: '2026-12-01T00:00:00.000Z',
    finished_at: '2026-12-01T00:00:01.000Z',
    result: {
      provider: 'mock',
      model: 'echo',
      content: 'hi',
      finish_reason: 'stop',
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      latency_ms: 1.5,
      attempts: [attempt],
    },
    internal: 'a field the schema does not name is left out',
  };
  const cases: Array<[string, ZodType, unknown]> = [
    ['the 202 of POST /v1/jobs', accepted, { id: 'job-1', status: 'queued' }],
    ['a completed job view', jobViewSchema, completed],
    [
      'a failed job view',
      jobViewSchema,
      { id: 'job-2', status: 'failed', error: { class: 'rate_limited', message: 'slow down', attempts: [attempt] } },
    ],
    [
      'the error envelope, extras kept',
      errorSchema,
      { error: { type: 'x', message: 'm', param: null, code: null, issues: [{ path: 'body.model' }] } },
    ],
  ];

  it.each(cases)('%s: the same JSON as the runtime serializer', (_name, schema, data) => {
    const compiled = compiledSerializerCompiler({ schema, method: 'GET', url: '/x', httpStatus: '200' });
    const runtime = runtimeSerializerCompiler({ schema, method: 'GET', url: '/x', httpStatus: '200' });
    const written = compiled(data);
    expect(written).toBe(runtime(data));
    expect(written).not.toContain('internal');
  });

  it.each([
    ['the 202 with an unknown status', accepted, { id: 'job-1', status: 'lost' }],
    ['a job view without its id', jobViewSchema, { status: 'queued' }],
    ['a completed view whose result lacks usage', jobViewSchema, { ...completed, result: { ...completed.result, usage: undefined } }],
  ] as Array<[string, ZodType, unknown]>)('%s: refused as the runtime refuses it', (_name, schema, data) => {
    const compiled = compiledSerializerCompiler({ schema, method: 'GET', url: '/x', httpStatus: '200' });
    const runtime = runtimeSerializerCompiler({ schema, method: 'GET', url: '/x', httpStatus: '200' });
    expect(() => runtime(data)).toThrow(/Response doesn't match the schema/);
    expect(() => compiled(data)).toThrow(/Response doesn't match the schema/);
  });

  it('a response schema with a transform, pipe, default or catch keeps the runtime encode', () => {
    // A parse would run the transform and write {"at":3}; the encode direction refuses it, as before.
    const transformed = z.object({ at: z.string().transform((s) => s.length) });
    expect(() => compiledSerializerCompiler({ schema: transformed, method: 'GET', url: '/x', httpStatus: '200' })({ at: 'abc' })).toThrow(
      /unidirectional transform/,
    );
    // A parse would fill the default in and write {"n":7}; the encode direction refuses the missing field.
    const defaulted = z.object({ n: z.number().default(7) });
    expect(() => compiledSerializerCompiler({ schema: defaulted, method: 'GET', url: '/x', httpStatus: '200' })({})).toThrow(
      /Response doesn't match the schema/,
    );
    for (const schema of [transformed, defaulted, z.object({ s: z.string().pipe(z.string()) }), z.object({ s: z.string().catch('x') })]) {
      expect(isPlainDataShape(schema)).toBe(false);
    }
    for (const [, schema] of cases) expect(isPlainDataShape(schema)).toBe(true);
  });
});

describe('compiled header validation', () => {
  it('checks the headers and leaves request.headers as the raw object (no copy on every read)', async () => {
    const app = Fastify();
    app.setValidatorCompiler(compiledValidatorCompiler);
    app.get('/h', { schema: { headers: idempotencyHeaders } }, async (request) => ({
      raw: request.headers === request.raw.headers,
      key: request.headers['idempotency-key'] ?? null,
    }));
    try {
      const ok = await app.inject({ method: 'GET', url: '/h', headers: { 'idempotency-key': 'k-1' } });
      expect(ok.json()).toEqual({ raw: true, key: 'k-1' });
      const bad = await app.inject({ method: 'GET', url: '/h', headers: { 'idempotency-key': 'has space' } });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().message).toContain('Idempotency-Key must be 1-255 printable ASCII characters');
    } finally {
      await app.close();
    }
  });
});

describe('empty query strings', () => {
  const queryRoute = (schema: ZodType) => ({ ...route(schema), method: 'GET', httpPart: 'querystring' });
  const booleanish = z
    .enum(['true', 'false', '1', '0', ''])
    .optional()
    .transform((v) => v === 'true' || v === '1');

  it('get the answer zod gives for an empty query, a fresh copy each time; a query is still validated', () => {
    const schema = z.object({ force_refresh: booleanish, days: z.coerce.number().int().min(1).default(7) });
    const validate = compiledValidatorCompiler(queryRoute(schema));
    const runtime = runtimeValidatorCompiler(queryRoute(schema));
    const first = outcome(validate({}));
    expect(first).toEqual(outcome(runtime({})));
    expect(first).toEqual({ value: { force_refresh: false, days: 7 } });
    expect(outcome(validate(Object.create(null)))).toEqual(first);
    expect((validate({}) as { value: unknown }).value).not.toBe((validate({}) as { value: unknown }).value);
    for (const query of [{ force_refresh: 'true' }, { force_refresh: 'yes' }, { days: '0' }, { days: '3', force_refresh: '1' }]) {
      expect(outcome(validate(query)), JSON.stringify(query)).toEqual(outcome(runtime(query)));
    }
  });

  it('a schema that refuses an empty query refuses it still', () => {
    const schema = z.object({ q: z.string() });
    expect(outcome(compiledValidatorCompiler(queryRoute(schema))({}))).toEqual(outcome(runtimeValidatorCompiler(queryRoute(schema))({})));
    expect(outcome(compiledValidatorCompiler(queryRoute(schema))({})).issues).toBeDefined();
  });
});
