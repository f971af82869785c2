/**
 * The pure classification tables: status codes, retry-after and rate-limit headers, thrown transport
 * errors, and each vendor's error bodies (as the vendors document them) -> one class each.
 */
import type { ErrorClass } from '@switchyard/shared';
import { describe, expect, it } from 'vitest';
import { classifyAnthropicError } from '../src/anthropic/errors.ts';
import { providerErrorFromHttp } from '../src/classify/http.ts';
import { classifyThrown } from '../src/classify/network.ts';
import { MAX_RETRY_AFTER_MS, parseDurationSeconds, parseRetryAfter, rateLimitHeaders } from '../src/classify/retry-after.ts';
import { classForStatus } from '../src/classify/status.ts';
import { classifyGeminiError } from '../src/gemini/errors.ts';
import { classifyOllamaError } from '../src/ollama/errors.ts';
import { classifyOpenAIError } from '../src/openai/errors.ts';
import { classifyOpenRouterError } from '../src/openrouter/errors.ts';

describe('status -> class', () => {
  it.each([
    [400, 'bad_request'],
    [401, 'api_key_invalid'],
    [402, 'credits_exhausted'],
    [403, 'forbidden'],
    [404, 'model_not_found'],
    [408, 'timeout'],
    [409, 'service_unavailable'],
    [413, 'context_length_exceeded'],
    [418, 'bad_request'],
    [422, 'bad_request'],
    [429, 'rate_limited'],
    [500, 'service_unavailable'],
    [502, 'service_unavailable'],
    [503, 'service_unavailable'],
    [504, 'service_unavailable'],
    [529, 'service_unavailable'],
    [599, 'service_unavailable'],
    [302, 'invalid_response'],
    [200, 'invalid_response'],
  ] as Array<[number, ErrorClass]>)('%i -> %s', (status, expected) => {
    expect(classForStatus(status)).toBe(expected);
  });
});

describe('retry-after', () => {
  const now = Date.parse('2026-11-23T12:00:00Z');
  it.each([
    [{ 'retry-after': '7' }, 7000],
    [{ 'retry-after': '1.5' }, 1500],
    [{ 'retry-after': '0' }, 0],
    [{ 'Retry-After': '3' }, 3000],
    [{ 'retry-after': 'Mon, 23 Nov 2026 12:00:30 GMT' }, 30_000],
    [{ 'retry-after': 'Mon, 23 Nov 2026 11:59:00 GMT' }, 0],
    [{ 'retry-after-ms': '250' }, 250],
    [{ 'retry-after-ms': '250', 'retry-after': '9' }, 250],
    [{ 'retry-after-ms': 'soon', 'retry-after': '2' }, 2000],
    [{ 'retry-after': '999999999' }, MAX_RETRY_AFTER_MS],
    [{ 'retry-after': 'soon' }, undefined],
    [{ 'retry-after': '12abc' }, undefined],
    [{}, undefined],
  ] as Array<[Record<string, string>, number | undefined]>)('%o -> %s ms', (headers, expected) => {
    expect(parseRetryAfter(headers, now)).toBe(expected);
    expect(parseRetryAfter(new Headers(headers), now)).toBe(expected);
  });

  it('reads Google RetryInfo durations', () => {
    expect(parseDurationSeconds('37s')).toBe(37_000);
    expect(parseDurationSeconds('0.5s')).toBe(500);
    expect(parseDurationSeconds('5m')).toBeUndefined();
  });

  it('keeps vendor rate-limit headers and nothing else', () => {
    const kept = rateLimitHeaders(
      new Headers({
        'x-ratelimit-remaining-requests': '0',
        'anthropic-ratelimit-tokens-reset': '2026-11-23T12:00:01Z',
        'retry-after': '2',
        ratelimit: 'limit=10, remaining=0, reset=2',
        'content-type': 'application/json',
        'set-cookie': 'a=b',
      }),
    );
    expect(kept).toEqual({
      'x-ratelimit-remaining-requests': '0',
      'anthropic-ratelimit-tokens-reset': '2026-11-23T12:00:01Z',
      'retry-after': '2',
      ratelimit: 'limit=10, remaining=0, reset=2',
    });
    expect(rateLimitHeaders({ 'content-type': 'x' })).toBeUndefined();
  });

  it('puts header hints and headers on the ProviderError, body hints as fallback', () => {
    const err = providerErrorFromHttp({
      provider: 'gemini',
      status: 429,
      headers: { 'x-ratelimit-limit': '10' },
      body: {
        error: {
          code: 429,
          status: 'RESOURCE_EXHAUSTED',
          message: 'quota',
          details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '7s' }],
        },
      },
      classify: classifyGeminiError,
    });
    expect(err).toMatchObject({ errorClass: 'rate_limited', status: 429, retryAfterMs: 7000, rateLimit: { 'x-ratelimit-limit': '10' } });
  });
});

function withCode(code: string, message = 'boom'): Error {
  return Object.assign(new Error(message), { code });
}

describe('thrown transport errors -> class', () => {
  const fetchFailed = (cause: unknown) => new TypeError('fetch failed', { cause });
  it.each([
    ['ECONNREFUSED', fetchFailed(withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1')), 'network_error'],
    ['ECONNRESET', fetchFailed(withCode('ECONNRESET', 'read ECONNRESET')), 'network_error'],
    ['ENOTFOUND (DNS)', fetchFailed(withCode('ENOTFOUND', 'getaddrinfo ENOTFOUND api.example')), 'network_error'],
    ['EAI_AGAIN (DNS)', fetchFailed(withCode('EAI_AGAIN', 'getaddrinfo EAI_AGAIN api.example')), 'network_error'],
    ['ETIMEDOUT', fetchFailed(withCode('ETIMEDOUT')), 'network_error'],
    ['EHOSTUNREACH', fetchFailed(withCode('EHOSTUNREACH')), 'network_error'],
    ['TLS expired cert', fetchFailed(withCode('CERT_HAS_EXPIRED', 'certificate has expired')), 'network_error'],
    ['TLS self-signed', fetchFailed(withCode('DEPTH_ZERO_SELF_SIGNED_CERT')), 'network_error'],
    ['TLS unknown CA', fetchFailed(withCode('UNABLE_TO_VERIFY_LEAF_SIGNATURE')), 'network_error'],
    ['TLS altname', fetchFailed(withCode('ERR_TLS_CERT_ALTNAME_INVALID')), 'network_error'],
    ['TLS wrong version', fetchFailed(withCode('ERR_SSL_WRONG_VERSION_NUMBER')), 'network_error'],
    ['TLS EPROTO', fetchFailed(withCode('EPROTO')), 'network_error'],
    ['undici socket closed', new TypeError('terminated', { cause: withCode('UND_ERR_SOCKET', 'other side closed') }), 'network_error'],
    ['undici connect timeout', fetchFailed(withCode('UND_ERR_CONNECT_TIMEOUT')), 'network_error'],
    ['undici headers timeout', fetchFailed(withCode('UND_ERR_HEADERS_TIMEOUT')), 'timeout'],
    ['undici body timeout', new TypeError('terminated', { cause: withCode('UND_ERR_BODY_TIMEOUT') }), 'timeout'],
    ['bare "terminated"', new TypeError('terminated'), 'network_error'],
    ['JSON parse', new SyntaxError('Unexpected end of JSON input'), 'invalid_response'],
    ['wrapped JSON parse', new Error('parse failed', { cause: new SyntaxError('bad') }), 'invalid_response'],
    ['unknown', new Error('something odd'), 'invalid_response'],
  ] as Array<[string, unknown, ErrorClass]>)('%s -> %s', (_name, err, expected) => {
    expect(classifyThrown(err)).toBe(expected);
  });
});

type Row = [label: string, status: number | undefined, body: unknown, expected: ErrorClass];

describe('OpenAI error bodies', () => {
  const e = (code: string | null, type: string, message = 'x') => ({ error: { message, type, param: null, code } });
  it.each([
    ['context_length_exceeded', 400, e('context_length_exceeded', 'invalid_request_error'), 'context_length_exceeded'],
    [
      'context length by wording',
      400,
      e(null, 'invalid_request_error', "This model's maximum context length is 8192 tokens"),
      'context_length_exceeded',
    ],
    ['content_policy_violation', 400, e('content_policy_violation', 'invalid_request_error'), 'content_policy'],
    ['invalid_model', 400, e('invalid_model', 'invalid_request_error'), 'model_not_found'],
    ['model_not_found', 404, e('model_not_found', 'invalid_request_error'), 'model_not_found'],
    ['insufficient_quota is credits, not a rate limit', 429, e('insufficient_quota', 'insufficient_quota'), 'credits_exhausted'],
    ['rate_limit_exceeded', 429, e('rate_limit_exceeded', 'requests'), 'rate_limited'],
    ['invalid_api_key', 401, e('invalid_api_key', 'invalid_request_error'), 'api_key_invalid'],
    ['unsupported region', 403, e('unsupported_country_region_territory', 'request_forbidden'), 'forbidden'],
    ['model_not_available', 503, e('model_not_available', 'server_error'), 'service_unavailable'],
    ['plain 400', 400, e('invalid_value', 'invalid_request_error'), 'bad_request'],
    ['HTML 502', 502, '<html>502 Bad Gateway</html>', 'service_unavailable'],
    ['in-band server_error', undefined, e('server_error', 'server_error'), 'service_unavailable'],
  ] as Row[])('%s', (_l, status, body, expected) => {
    expect(classifyOpenAIError({ status, body }).errorClass).toBe(expected);
  });
});

describe('OpenRouter error bodies', () => {
  const e = (code: number | string, message = 'x', metadata?: unknown) => ({ error: { code, message, ...(metadata ? { metadata } : {}) } });
  it.each([
    ['400', 400, e(400, 'Input required'), 'bad_request'],
    ['401', 401, e(401, 'No auth credentials found'), 'api_key_invalid'],
    ['402 insufficient credits', 402, e(402, 'Insufficient credits'), 'credits_exhausted'],
    ['403 moderation flag', 403, e(403, 'flagged', { reasons: ['violence'], flagged_input: '...' }), 'content_policy'],
    ['403 without moderation', 403, e(403, 'Key is disabled'), 'forbidden'],
    ['408', 408, e(408, 'Request timed out'), 'timeout'],
    ['429', 429, e(429, 'Rate limit exceeded'), 'rate_limited'],
    ['502 model down', 502, e(502, 'Provider returned error'), 'service_unavailable'],
    ['503 no provider', 503, e(503, 'No allowed providers'), 'service_unavailable'],
    ['not a valid model ID', 400, e(400, 'foo/bar is not a valid model ID'), 'model_not_found'],
    ['no endpoints found', 404, e(404, 'No endpoints found for foo/bar.'), 'model_not_found'],
    ['context length', 400, e(400, "This endpoint's maximum context length is 131072 tokens"), 'context_length_exceeded'],
    ['string code', 400, e('invalid_model_id', 'x'), 'model_not_found'],
    ['in-band numeric', undefined, e(502, 'Provider disconnected unexpectedly'), 'service_unavailable'],
    ['in-band server_error', undefined, e('server_error', 'Provider disconnected'), 'service_unavailable'],
    ['in-band without code', undefined, { error: { message: 'stream failed' } }, 'service_unavailable'],
  ] as Row[])('%s', (_l, status, body, expected) => {
    expect(classifyOpenRouterError({ status, body }).errorClass).toBe(expected);
  });
});

describe('Anthropic error bodies', () => {
  const e = (type: string, message = 'x', details?: unknown) => ({
    type: 'error',
    error: { type, message, ...(details ? { details } : {}) },
    request_id: 'req_1',
  });
  it.each([
    ['overloaded_error 529', 529, e('overloaded_error', 'Overloaded'), 'service_unavailable'],
    ['rate_limit_error', 429, e('rate_limit_error'), 'rate_limited'],
    ['authentication_error', 401, e('authentication_error', 'invalid x-api-key'), 'api_key_invalid'],
    ['permission_error', 403, e('permission_error'), 'forbidden'],
    ['not_found_error', 404, e('not_found_error', 'model: claude-x'), 'model_not_found'],
    ['invalid_request_error', 400, e('invalid_request_error', 'messages: Field required'), 'bad_request'],
    [
      'prompt is too long',
      400,
      e('invalid_request_error', 'prompt is too long: 215000 tokens > 200000 maximum'),
      'context_length_exceeded',
    ],
    [
      'credit balance too low',
      400,
      e('invalid_request_error', 'Your credit balance is too low to access the Anthropic API.'),
      'credits_exhausted',
    ],
    ['content filtering', 400, e('invalid_request_error', 'Output blocked by content filtering policy'), 'content_policy'],
    ['billing_error', 402, e('billing_error'), 'credits_exhausted'],
    ['request_too_large', 413, e('request_too_large'), 'context_length_exceeded'],
    ['api_error', 500, e('api_error'), 'service_unavailable'],
    ['timeout_error 504', 504, e('timeout_error'), 'service_unavailable'],
    ['error_code spend limit', 400, e('invalid_request_error', 'x', { error_code: 'enforced_spend_limit_reached' }), 'credits_exhausted'],
    ['error_code organization_on_hold', 403, e('permission_error', 'x', { error_code: 'organization_on_hold' }), 'forbidden'],
    ['in-band stream error', undefined, e('overloaded_error', 'Overloaded'), 'service_unavailable'],
  ] as Row[])('%s', (_l, status, body, expected) => {
    expect(classifyAnthropicError({ status, body }).errorClass).toBe(expected);
  });
});

describe('Gemini error bodies', () => {
  const e = (code: number, status: string, message = 'x', details?: unknown[]) => ({
    error: { code, status, message, ...(details ? { details } : {}) },
  });
  const info = (reason: string) => ({ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason, domain: 'googleapis.com' });
  it.each([
    ['RESOURCE_EXHAUSTED', 429, e(429, 'RESOURCE_EXHAUSTED', 'You exceeded your current quota'), 'rate_limited'],
    ['prepayment credits depleted', 429, e(429, 'RESOURCE_EXHAUSTED', 'Your prepayment credits are depleted.'), 'credits_exhausted'],
    ['UNAUTHENTICATED', 401, e(401, 'UNAUTHENTICATED'), 'api_key_invalid'],
    [
      'API_KEY_INVALID as 400',
      400,
      e(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [info('API_KEY_INVALID')]),
      'api_key_invalid',
    ],
    ['PERMISSION_DENIED', 403, e(403, 'PERMISSION_DENIED'), 'forbidden'],
    ['consumer suspended', 403, e(403, 'PERMISSION_DENIED', 'suspended', [info('CONSUMER_SUSPENDED')]), 'forbidden'],
    ['NOT_FOUND', 404, e(404, 'NOT_FOUND', 'models/x is not found'), 'model_not_found'],
    ['INVALID_ARGUMENT', 400, e(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.'), 'bad_request'],
    [
      'input token count',
      400,
      e(400, 'INVALID_ARGUMENT', 'The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).'),
      'context_length_exceeded',
    ],
    ['FAILED_PRECONDITION', 400, e(400, 'FAILED_PRECONDITION', 'User location is not supported for the API use.'), 'forbidden'],
    ['UNAVAILABLE', 503, e(503, 'UNAVAILABLE', 'The model is overloaded.'), 'service_unavailable'],
    ['INTERNAL', 500, e(500, 'INTERNAL'), 'service_unavailable'],
    ['DEADLINE_EXCEEDED', 504, e(504, 'DEADLINE_EXCEEDED'), 'service_unavailable'],
    ['array-wrapped stream error', undefined, [e(503, 'UNAVAILABLE')], 'service_unavailable'],
  ] as Row[])('%s', (_l, status, body, expected) => {
    expect(classifyGeminiError({ status, body }).errorClass).toBe(expected);
  });
});

describe('Ollama error bodies', () => {
  it.each([
    ['model not pulled', 404, { error: 'model "llama9" not found, try pulling it first' }, 'model_not_found'],
    ['bad options', 400, { error: 'invalid options' }, 'bad_request'],
    ['context', 400, { error: 'the input length exceeds the context length' }, 'context_length_exceeded'],
    ['runner crash', 500, { error: 'llama runner process has terminated: exit status 2' }, 'service_unavailable'],
    ['busy', 503, { error: 'server busy, please try again.' }, 'service_unavailable'],
    ['in-band line', undefined, { error: 'unexpected EOF' }, 'service_unavailable'],
  ] as Row[])('%s', (_l, status, body, expected) => {
    expect(classifyOllamaError({ status, body }).errorClass).toBe(expected);
  });
});
