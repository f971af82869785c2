/**
 * Owns the error envelope: every error leaves as {"error":{"type","message",...}} with the right
 * status. Validation failures list each failing field; Redis outages become fast 503s; nothing a
 * client sends can produce a 500, and no message carries a secret.
 */

import { redactSecrets } from '@switchyard/shared';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';

export type ApiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'unsupported_media_type'
  | 'rate_limit_error'
  | 'budget_exceeded'
  | 'service_unavailable'
  | 'server_error'
  | 'upstream_error'
  | 'timeout_error'
  | 'cancelled';

export class ApiError extends Error {
  /** Set when the error is also news for operators: logged at warn (fields never carry secrets). */
  logAs?: { msg: string; fields: Record<string, unknown> };

  constructor(
    readonly statusCode: number,
    readonly type: ApiErrorType,
    message: string,
    readonly extra: Record<string, unknown> = {},
    /** Response headers that go with the error, e.g. retry-after. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * `param` and `code` are always present (null when not applicable), so every error is also a valid
 * OpenAI `ErrorResponse` and the official SDKs read `.code` and `.param` from any of our errors.
 */
export function errorBody(type: ApiErrorType, message: string, extra: Record<string, unknown> = {}) {
  return { error: { type, message: redactSecrets(message), param: null, code: null, ...extra } };
}

/** The error a Redis outage surfaces as: the errors plugin answers it with a fast 503. */
export class RedisUnavailableError extends Error {
  constructor(what = 'Redis is unreachable') {
    super(what);
    this.name = 'RedisUnavailableError';
  }
}

const REDIS_DOWN =
  /Stream isn't writeable|Connection is closed|ECONNREFUSED|ECONNRESET|Command timed out|enableOfflineQueue|MaxRetriesPerRequest|Redis is unreachable|ClusterAllFailedError|CLUSTERDOWN/i;

/** True when an error means Redis could not be reached (so the answer is a 503, not a 500). */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err instanceof RedisUnavailableError) return true;
  if (REDIS_DOWN.test(err.message)) return true;
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ETIMEDOUT';
}

interface IssueView {
  path: string;
  message: string;
}

function validationIssues(err: FastifyError): IssueView[] {
  const where = err.validationContext ?? 'body';
  return (err.validation ?? []).map((v) => {
    const path = v.instancePath.replace(/^\//, '').split('/').filter(Boolean).join('.');
    return { path: path ? `${where}.${path}` : where, message: v.message ?? 'invalid' };
  });
}

function send(reply: FastifyReply, status: number, type: ApiErrorType, message: string, extra: Record<string, unknown> = {}) {
  return reply
    .code(status)
    .type('application/json; charset=utf-8')
    .send(errorBody(type, message, extra));
}

async function errorsPlugin(app: FastifyInstance) {
  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof ApiError) {
      if (err.logAs) request.log.warn(err.logAs.fields, err.logAs.msg);
      for (const [name, value] of Object.entries(err.headers)) reply.header(name, value);
      return send(reply, err.statusCode, err.type, err.message, err.extra);
    }
    if (hasZodFastifySchemaValidationErrors(err) || err.validation) {
      const issues = validationIssues(err);
      const summary = issues
        .slice(0, 5)
        .map((i) => `${i.path}: ${i.message}`)
        .join('; ');
      return send(reply, 400, 'invalid_request_error', `Invalid request: ${summary}`, { issues, param: issues[0]?.path ?? null });
    }
    switch (err.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return send(
          reply,
          413,
          'request_too_large',
          `Request body is larger than ${app.initialConfig.bodyLimit} bytes. Fix: send a smaller body, or split a batch.`,
        );
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return send(
          reply,
          400,
          'invalid_request_error',
          `Body is not valid JSON: ${err.message}. Fix: send a JSON object with Content-Type: application/json.`,
        );
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return send(reply, 415, 'unsupported_media_type', 'Unsupported Content-Type. Fix: send JSON with Content-Type: application/json.');
      case 'FST_ERR_CTP_INVALID_TYPE':
        return send(reply, 400, 'invalid_request_error', 'Invalid Content-Type header. Fix: send Content-Type: application/json.');
    }
    if (request.raw.readableAborted && !request.raw.complete) {
      // The client went away mid-body (its 'aborted' error carries ECONNRESET): nobody reads this
      // answer, and it says nothing about Redis.
      request.log.debug({ code: err.code }, 'request aborted by the client');
      return send(reply, 400, 'invalid_request_error', 'The request was aborted before its body arrived.');
    }
    if (isRedisUnavailable(err)) {
      request.log.warn({ err: { message: err.message } }, 'redis unavailable');
      reply.header('retry-after', '1');
      return send(reply, 503, 'service_unavailable', 'The job store (Redis) is unreachable right now. Retry shortly.');
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return send(reply, status, status === 429 ? 'rate_limit_error' : 'invalid_request_error', err.message);
    }
    request.log.error({ err }, 'unhandled error');
    return send(reply, 500, 'server_error', 'Internal error. It has been logged.');
  });

  app.setNotFoundHandler((request, reply) =>
    send(reply, 404, 'not_found_error', `No route ${request.method} ${request.url.split('?')[0]}. See GET /docs for the API.`),
  );
}

export default fp(errorsPlugin, { name: 'switchyard-errors' });
