/**
 * Owns the hostile-input generators (fast-check) shared by the API's in-process fuzz
 * (apps/api/test/fuzz.test.ts, through app.inject) and the chaos suite's hostile-input test (raw
 * bytes over a socket): every route the API serves, text of every kind, and request bodies, from
 * near-valid job requests with any field wrong to broken JSON and pathological nesting. What only
 * one transport can carry (paths, query strings and headers of raw bytes, broken framing) stays in
 * its test.
 */
import fc from 'fast-check';

/** Every route of the API; `{id}` stands for a path segment. */
export const ROUTES = [
  '/v1/jobs',
  '/v1/jobs/batch',
  '/v1/jobs/{id}',
  '/v1/jobs/{id}/events',
  '/v1/chat/completions',
  '/v1/responses',
  '/v1/responses/{id}',
  '/v1/responses/{id}/input_items',
  '/v1/responses/{id}/cancel',
  '/v1/models',
  '/v1/models/{id}',
  '/v1/providers/status',
  '/v1/metrics',
  '/v1/workers',
  '/metrics',
  '/healthz',
  '/readyz',
  '/docs',
  '/docs/json',
  '/dashboard',
  '/dashboard/assets/{id}',
  '/dashboard/api/snapshot',
  '/dashboard/api/series',
  '/admin/queues',
];

/** Printable ASCII: what every transport carries in a header or a path as it is. */
export const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 80 });
/** Whole graphemes: emoji sequences, combining marks, right-to-left scripts. */
export const unicode = fc.string({ unit: 'grapheme', maxLength: 30 });
/** Any code points, control characters and lone surrogates included. */
export const binaryish = fc.string({ unit: 'binary', maxLength: 30 });
export const anyText = fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 40 }), printable);

/** `value` or absent. */
export const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const jsonish = fc.jsonValue({ maxDepth: 3 });

const content = fc.oneof(
  fc.string({ maxLength: 40 }),
  unicode,
  binaryish,
  fc.constantFrom('\u0000', '\ud800', '\udfff\ud800', 'é'.normalize('NFD'), '🏳️‍🌈'.repeat(50)),
);

/** A `messages` field: well formed with odd roles and content, content parts, or any JSON. */
export const messages = fc.oneof(
  fc.array(fc.record({ role: fc.constantFrom('user', 'system', 'assistant', 'tool', 'developer', 'root'), content }), {
    minLength: 1,
    maxLength: 3,
  }),
  fc.array(
    fc.record({
      role: fc.constant('user'),
      content: fc.array(fc.record({ type: fc.constant('text'), text: content }), { maxLength: 2 }),
    }),
  ),
  fc.jsonValue(),
);

const models = fc.oneof(
  fc.constantFrom('mock/echo', 'openai/gpt-4o-mini', 'gemini/gemini-2.5-flash', 'gpt-4o', 'nope/x', 'x', '', '/', 'mock/'),
  unicode,
  fc.jsonValue(),
);

/**
 * A request of POST /v1/jobs, /v1/jobs/batch or /v1/chat/completions with any of its fields absent,
 * right, out of range or of the wrong type, and a `__proto__` key.
 */
export const jobRequest = fc.record(
  {
    model: maybe(models),
    models: maybe(fc.oneof(fc.array(models, { maxLength: 10 }), jsonish)),
    messages: maybe(messages),
    max_tokens: maybe(fc.oneof(fc.integer(), fc.double(), fc.constant(Number.MAX_SAFE_INTEGER), jsonish)),
    max_completion_tokens: maybe(fc.oneof(fc.integer({ min: -5, max: 5000 }), jsonish)),
    temperature: maybe(fc.oneof(fc.double({ min: -3, max: 3 }), jsonish)),
    stream: maybe(fc.oneof(fc.boolean(), fc.constant('yes'), jsonish)),
    stream_options: maybe(fc.oneof(fc.record({ include_usage: fc.boolean() }), jsonish)),
    fallbacks: maybe(fc.array(models, { maxLength: 10 })),
    budget_ms: maybe(fc.oneof(fc.integer({ min: -10, max: 700_000 }), fc.double(), fc.constant(1e308), jsonish)),
    priority: maybe(fc.integer({ min: -5, max: 2000 })),
    metadata: maybe(jsonish),
    jobs: maybe(
      fc.oneof(
        fc.array(fc.record({ messages, idempotency_key: maybe(fc.oneof(anyText, unicode, fc.constant('k'))) }), { maxLength: 3 }),
        jsonish,
      ),
    ),
    n: maybe(fc.integer({ min: -1, max: 3 })),
    __proto__: maybe(jsonish),
  },
  { requiredKeys: [] },
);

/** A request body: mostly near-valid job requests, then any JSON, any text, broken JSON, 1,000-20,000 nested arrays. */
export const hostileBody = fc.oneof(
  { weight: 5, arbitrary: jobRequest.map((b) => JSON.stringify(b)) },
  { weight: 2, arbitrary: fc.json({ maxDepth: 4 }) },
  { weight: 2, arbitrary: fc.oneof(anyText, unicode, binaryish) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      '{',
      '[]',
      'null',
      '0',
      '"x"',
      '{"messages":',
      '\u0000',
      '{"a":1}{"b":2}',
      '\ufeff{"messages":[{"role":"user","content":"bom"}]}',
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 20_000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`) },
);
