/**
 * The fault-injecting mock LLM server: the five vendors', Azure OpenAI's and a generic
 * OpenAI-compatible server's wire formats under path prefixes, faults per request (x-mock-fault
 * header, [[mock:...]] directive) and by rule (admin API), exact call stats.
 * See faults.ts for the fault syntax, routes.ts for the URLs, server.ts for the admin API.
 */
export { ERROR_KINDS, type ErrorKind, type Fault, type FaultRule, FaultSyntaxError, kindForStatus, parseFault } from './faults.ts';
export type { RecordedRequest } from './respond.ts';
export { type MockProvider, mockBaseUrls } from './routes.ts';
export { type MockServer, type MockServerOptions, startMockServer } from './server.ts';
export type { CallCounters, MockStats } from './stats.ts';
export { openrouterMockCost } from './wire/openai.ts';
