/**
 * Loads Azure OpenAI's published inference reference (fixtures/azure-openai-inference-2024-10-21.yaml,
 * OpenAPI 3.0; source and licence in fixtures/README.md) into Ajv, with OpenAPI's `nullable: true`
 * ("or null") rewritten into JSON Schema as for OpenAI's spec (openapi.ts). The request validator is
 * strict: a body field the reference does not name anywhere in createChatCompletionRequest fails it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ValidateFunction } from 'ajv';
import { parse } from 'yaml';
import { createAjv, toJsonSchema } from './openapi.ts';

export const AZURE_SPEC_PATH = path.resolve(import.meta.dirname, 'fixtures/azure-openai-inference-2024-10-21.yaml');

export interface AzureValidators {
  /** createChatCompletionRequest, with no property beyond those it declares. */
  request: ValidateFunction;
  response: ValidateFunction;
  chunk: ValidateFunction;
  error: ValidateFunction;
  /** The spec itself, for assertions on its paths and parameters. */
  spec: AzureSpec;
}

export interface AzureSpec {
  servers: Array<{ url: string }>;
  paths: Record<string, Record<string, { operationId?: string; parameters?: Array<{ in: string; name: string; required?: boolean }> }>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, { type: string; name?: string; in?: string }> };
}

export function loadAzureValidators(): AzureValidators {
  const spec = parse(readFileSync(AZURE_SPEC_PATH, 'utf8')) as AzureSpec;
  const ajv = createAjv();
  // Formats the reference names that carry no constraint for JSON values.
  for (const format of ['int32', 'binary', 'string']) ajv.addFormat(format, true);
  ajv.addSchema({ $id: 'azure.yaml', components: toJsonSchema(spec.components) });
  const get = (name: string) => {
    const validate = ajv.getSchema(`azure.yaml#/components/schemas/${name}`);
    if (!validate) throw new Error(`schema ${name} not in ${AZURE_SPEC_PATH}`);
    return validate;
  };
  const request = ajv.compile({
    $id: 'azure-strict-request',
    allOf: [{ $ref: 'azure.yaml#/components/schemas/createChatCompletionRequest' }],
    unevaluatedProperties: false,
  });
  return {
    request,
    response: get('createChatCompletionResponse'),
    chunk: get('createChatCompletionStreamResponse'),
    error: get('errorResponse'),
    spec,
  };
}
