/**
 * @switchyard/providers: one adapter per LLM provider behind one contract (types.ts), every failure
 * classified into one class of CONTRACT.md (ProviderError), health probes, key checks, and the
 * registry the worker and the API build from configuration. The mock server is exported separately
 * from `@switchyard/providers/mock-server`.
 */

export { classifyAnthropicError } from './anthropic/errors.ts';
export { createAnthropicAdapter } from './anthropic/index.ts';
export { AZURE_DEFAULT_API_VERSION, classifyAzureOpenAIError, createAzureOpenAIAdapter } from './azure-openai/index.ts';
export { providerErrorFromHttp } from './classify/http.ts';
export { classifyThrown, NETWORK_CODE_TABLE } from './classify/network.ts';
export { headerValue, parseRetryAfter, rateLimitHeaders } from './classify/retry-after.ts';
export { classForStatus, STATUS_TABLE } from './classify/status.ts';
export type { VendorErrorClassifier, VendorFailure, VendorVerdict } from './classify/vendor.ts';
export {
  buildFleetRuntime,
  deploymentModels,
  type FleetRuntime,
  FleetRuntimeHolder,
  type FleetRuntimeOptions,
  FleetRuntimeSource,
  type ModelObject,
} from './fleet-runtime.ts';
export { classifyGeminiError } from './gemini/errors.ts';
export { createGeminiAdapter } from './gemini/index.ts';
export { checkDeploymentKeys, checkProviderKeys, formatKeyProblems, KEY_RULES, type KeyProblem } from './key-checks.ts';
export { createMockAdapter, type MockAdapterOptions, mockHttpBaseUrl } from './mock/index.ts';
export { classifyOllamaError } from './ollama/errors.ts';
export { createOllamaAdapter } from './ollama/index.ts';
export { classifyOpenAIError } from './openai/errors.ts';
export { createOpenAIAdapter } from './openai/index.ts';
export { classifyOpenAICompatibleError, createOpenAICompatibleServerAdapter } from './openai-compatible/index.ts';
export { classifyOpenRouterError } from './openrouter/errors.ts';
export { createOpenRouterAdapter } from './openrouter/index.ts';
export { isProviderError, ProviderError } from './provider-error.ts';
export { createDeploymentAdapter, DEPLOYMENT_FACTORIES, type DeploymentFactory, type FactoryContext } from './registry.ts';
export { runAttempt } from './transport/attempt.ts';
export { stateForProbeFailure } from './transport/probe.ts';
export type { CallOptions, ChatMessage, ChatRequest, ChatResult, ProbeResult, ProviderAdapter, Usage } from './types.ts';
