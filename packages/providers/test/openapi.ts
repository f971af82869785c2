/**
 * Loads OpenAI's OpenAPI description (../shared/specs beside the repo) into Ajv (JSON Schema 2020-12,
 * as OpenAPI 3.1 uses), with the spec's OpenAPI-only `nullable` rewritten into JSON Schema.
 */
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ValidateFunction } from 'ajv';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
export const OPENAI_SPEC_PATH = path.resolve(repoRoot, '../shared/specs/openai-openapi.yaml');

export function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) out[key] = toJsonSchema(value);
  if (out.nullable === true) {
    delete out.nullable;
    // OpenAPI's nullable admits null even next to an enum; JSON Schema needs it listed.
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    else return { anyOf: [out, { type: 'null' }] };
  }
  delete out.nullable;
  return out;
}

export interface OpenAIValidators {
  request: ValidateFunction;
  response: ValidateFunction;
  chunk: ValidateFunction;
}

/**
 * The spec's components as JSON Schema. Parsing 3 MB of YAML costs seconds of CPU on a shared
 * machine, so the converted result is cached in the temp dir, keyed by the spec's size and mtime.
 */
function loadComponents(): unknown {
  const stat = statSync(OPENAI_SPEC_PATH);
  const cache = path.join(tmpdir(), `switchyard-openai-components-${stat.size}-${Math.floor(stat.mtimeMs)}.json`);
  try {
    return JSON.parse(readFileSync(cache, 'utf8')) as unknown;
  } catch {
    const spec = parse(readFileSync(OPENAI_SPEC_PATH, 'utf8')) as { components: unknown };
    const components = toJsonSchema(spec.components);
    const partial = `${cache}.${process.pid}`;
    writeFileSync(partial, JSON.stringify(components));
    renameSync(partial, cache);
    return components;
  }
}

export type Ajv = InstanceType<typeof Ajv2020.default>;

/** Ajv for JSON Schema 2020-12 with the formats both vendors' specs use. */
export function createAjv(): Ajv {
  // The default export's typing differs between CJS and ESM builds; construct through a narrow cast.
  const AjvCtor = Ajv2020 as unknown as new (options: object) => Ajv;
  const ajv = new AjvCtor({ strict: false, allErrors: true });
  (addFormats as unknown as (a: unknown) => void)(ajv);
  ajv.addFormat('unixtime', true);
  return ajv;
}

export function loadOpenAIValidators(): OpenAIValidators {
  const ajv = createAjv();
  ajv.addSchema({ $id: 'openai.yaml', components: loadComponents() });
  const get = (name: string) => {
    const validate = ajv.getSchema(`openai.yaml#/components/schemas/${name}`);
    if (!validate) throw new Error(`schema ${name} not in ${OPENAI_SPEC_PATH}`);
    return validate;
  };
  return {
    request: get('CreateChatCompletionRequest'),
    response: get('CreateChatCompletionResponse'),
    chunk: get('CreateChatCompletionStreamResponse'),
  };
}
