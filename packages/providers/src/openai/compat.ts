/**
 * Owns the adapter for every OpenAI-wire kind (OpenAI, OpenRouter, Azure OpenAI, OpenAI-compatible
 * servers, the mock provider's HTTP models). Chat calls, the hot path, go out through the thin client
 * (transport/http.ts on fastFetch): one POST with the URL and headers the official `openai` SDK
 * would send (a test holds the two equal), without the SDK's request stack, which cost ~0.12 ms of
 * CPU per call on top of the transport (bench/tools/provider-call-cost.ts). The SDK stays for the
 * probe and for its types; its retries are off. The SSE body is read here either way: the router
 * needs an abort and a stream that stops before `[DONE]` to be failures. A kind's folder gives its
 * URL, headers, dialect and error vocabulary.
 */
import type { DeploymentKind, Logger } from '@switchyard/shared';
import { registerSecret } from '@switchyard/shared';
import OpenAI from 'openai';
import { parseErrorBody, providerErrorFromHttp } from '../classify/http.ts';
import { classifyThrown, describeThrown } from '../classify/network.ts';
import type { VendorErrorClassifier } from '../classify/vendor.ts';
import { ProviderError } from '../provider-error.ts';
import { defineAdapter } from '../transport/adapter.ts';
import { invalidResponse } from '../transport/attempt.ts';
import { type FetchLike, fastFetch } from '../transport/fast-fetch.ts';
import { joinUrl, readJson, send } from '../transport/http.ts';
import type { ProbeCheck } from '../transport/probe.ts';
import { readSse } from '../transport/sse.ts';
import type { ProviderAdapter } from '../types.ts';
import { type OpenAIDialect, toChatCompletionBody } from './request.ts';
import { ChatCompletionStream, fromChatCompletion } from './response.ts';

export interface OpenAICompatibleSpec {
  provider: DeploymentKind;
  dialect: OpenAIDialect;
  /** Sent as `Authorization: Bearer`; absent, no Authorization header goes out (keyless local servers). */
  apiKey?: string | undefined;
  baseURL: string;
  models: readonly string[];
  classify: VendorErrorClassifier;
  /** Used when a call gives no timeoutMs (ATTEMPT_TIMEOUT_MS). */
  defaultTimeoutMs: number;
  /** A null removes a header the SDK would send (Azure: `Authorization`, its key goes as `api-key`). */
  defaultHeaders?: Record<string, string | null>;
  /** Query parameters on every request (Azure: `api-version`). */
  defaultQuery?: Record<string, string>;
  /** The chat path under baseURL for a model; default `/chat/completions` (Azure names the model in it). */
  chatPath?: (model: string) => string;
  /** A `content_filter` finish_reason is a refusal (content_policy), not an answer (Azure's output filter). */
  contentFilterRefuses?: boolean;
  logger?: Logger | undefined;
  /** The HTTP transport; default fastFetch (transport/fast-fetch.ts). */
  fetch?: FetchLike | undefined;
  /** Replaces the default probe (GET {baseURL}/models). */
  probe?: (client: OpenAI, options: { timeoutMs: number }) => ProbeCheck;
}

/** Headroom so the SDK's own timer never fires before the attempt's deadline decides the class. */
const SDK_TIMEOUT_SLACK_MS = 5_000;

/**
 * The SDK refuses to start without a credential; a keyless client gets this stand-in, and its
 * `Authorization` header is removed, so it never leaves the process.
 */
const NO_KEY = 'no-key';

export function createOpenAIClient(
  spec: Pick<OpenAICompatibleSpec, 'apiKey' | 'baseURL' | 'defaultHeaders' | 'defaultQuery' | 'fetch'>,
): OpenAI {
  if (spec.apiKey) registerSecret(spec.apiKey);
  const defaultHeaders = spec.apiKey ? spec.defaultHeaders : { Authorization: null, ...spec.defaultHeaders };
  return new OpenAI({
    apiKey: spec.apiKey || NO_KEY,
    baseURL: spec.baseURL,
    // Retries belong to the router (DESIGN 4): an SDK retry loop is the retry storm it exists to prevent.
    maxRetries: 0,
    fetch: spec.fetch ?? fastFetch,
    // The SDK logs request details at its levels; ours logs outcomes only, secret-scrubbed.
    logLevel: 'off',
    // Without these the SDK would read OPENAI_ORG_ID/OPENAI_PROJECT_ID and send them to OpenRouter too.
    organization: null,
    project: null,
    webhookSecret: null,
    ...(defaultHeaders ? { defaultHeaders } : {}),
    ...(spec.defaultQuery ? { defaultQuery: spec.defaultQuery } : {}),
  });
}

/** Maps whatever the SDK or the body reader threw to a ProviderError of the contract. */
export function classifyOpenAISdkError(provider: DeploymentKind, err: unknown, classify: VendorErrorClassifier): ProviderError {
  if (err instanceof ProviderError) return err;
  if (err instanceof OpenAI.APIUserAbortError)
    return new ProviderError({ errorClass: 'aborted', provider, message: `${provider}: aborted` });
  if (err instanceof OpenAI.APIConnectionTimeoutError) {
    return new ProviderError({ errorClass: 'timeout', provider, message: `${provider}: request timed out` });
  }
  if (err instanceof OpenAI.APIConnectionError) {
    const cause = (err as { cause?: unknown }).cause ?? err;
    return new ProviderError({ errorClass: classifyThrown(cause), provider, message: `${provider}: ${describeThrown(cause)}` });
  }
  if (err instanceof OpenAI.APIError && typeof err.status === 'number') {
    const body = err.error !== undefined && err.error !== null ? { error: err.error } : err.message.replace(/^\d{3}\s*/, '');
    return providerErrorFromHttp({ provider, status: err.status, headers: err.headers, body, classify });
  }
  return new ProviderError({ errorClass: classifyThrown(err), provider, message: `${provider}: ${describeThrown(err)}` });
}

/** A chat call's endpoint: the URL and headers the SDK would send for this spec and model. */
export interface ChatEndpoint {
  url: string;
  headers: Record<string, string>;
}

export function chatEndpointOf(
  spec: Pick<OpenAICompatibleSpec, 'apiKey' | 'baseURL' | 'defaultHeaders' | 'defaultQuery' | 'chatPath'>,
): (model: string) => ChatEndpoint {
  if (spec.apiKey) registerSecret(spec.apiKey);
  const headers: Record<string, string> = { 'user-agent': 'switchyard' };
  if (spec.apiKey) headers.authorization = `Bearer ${spec.apiKey}`;
  // The SDK's rule: a null drops a header (Azure drops Authorization), a name is matched without case.
  for (const [name, value] of Object.entries(spec.defaultHeaders ?? {})) {
    if (value === null) delete headers[name.toLowerCase()];
    else headers[name.toLowerCase()] = value;
  }
  const query = spec.defaultQuery && Object.keys(spec.defaultQuery).length > 0 ? `?${new URLSearchParams(spec.defaultQuery)}` : '';
  const fixedUrl = spec.chatPath ? undefined : `${joinUrl(spec.baseURL, '/chat/completions')}${query}`;
  return (model) => ({ url: fixedUrl ?? `${joinUrl(spec.baseURL, (spec.chatPath as (m: string) => string)(model))}${query}`, headers });
}

export function createOpenAICompatibleAdapter(spec: OpenAICompatibleSpec): ProviderAdapter {
  const client = createOpenAIClient(spec);
  const { provider, classify } = spec;
  const endpoint = chatEndpointOf(spec);
  const requestOptions = (signal: AbortSignal, timeoutMs: number) => ({ signal, timeout: timeoutMs + SDK_TIMEOUT_SLACK_MS, maxRetries: 0 });
  const refusals = { contentFilterRefuses: spec.contentFilterRefuses === true };
  /** One POST; a non-2xx answer rejects with its classified ProviderError (transport/http.ts). */
  const post = (model: string, body: unknown, signal: AbortSignal, accept: string) => {
    const { url, headers } = endpoint(model);
    return send({ provider, method: 'POST', url, headers: { ...headers, accept }, body, signal, classify, fetch: spec.fetch });
  };

  return defineAdapter({
    provider,
    models: spec.models,
    defaultTimeoutMs: spec.defaultTimeoutMs,
    logger: spec.logger,
    classify: (err) => classifyOpenAISdkError(provider, err, classify),

    async complete({ request, signal }) {
      const params = toChatCompletionBody(request, { dialect: spec.dialect, stream: false });
      const response = await post(request.model, params, signal, 'application/json');
      return fromChatCompletion(provider, await readJson(response), request.model, classify, refusals);
    },

    async stream({ request, signal, emit }) {
      const params = toChatCompletionBody(request, { dialect: spec.dialect, stream: true });
      const response = await post(request.model, params, signal, 'text/event-stream');
      if (!response.body) throw invalidResponse(provider, 'stream response without a body');
      if (!(response.headers.get('content-type') ?? '').includes('text/event-stream')) {
        // OpenRouter may answer a stream request with a plain JSON 200 that carries the error.
        // A server that ignored `stream` and sent a whole answer: accept it, delivered as one delta.
        const whole = fromChatCompletion(provider, parseErrorBody(await response.text()), request.model, classify, refusals);
        emit(whole.content);
        return whole;
      }
      const folder = new ChatCompletionStream(provider, classify, emit, refusals);
      for await (const event of readSse(response.body)) {
        if (folder.push(event)) break;
      }
      return folder.result(request.model);
    },

    probe(signal, timeoutMs) {
      if (spec.probe) return spec.probe(client, { timeoutMs })(signal);
      return client.models.list(requestOptions(signal, timeoutMs)).then(() => undefined);
    },
  });
}
