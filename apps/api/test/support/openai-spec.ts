/**
 * Validates our responses against OpenAI's published OpenAPI description (../shared/specs, beside
 * the repository in CI too). The whole document is one schema resource; components are compiled
 * on first use.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import formatsModule from 'ajv-formats';
import { parse } from 'yaml';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
export const OPENAI_SPEC_PATH = path.resolve(repoRoot, '../shared/specs/openai-openapi.yaml');

// CommonJS under NodeNext: the default import is module.exports, which is the plugin itself.
const addFormats = formatsModule as unknown as typeof formatsModule.default;

let ajv: Ajv | undefined;
const compiled = new Map<string, ValidateFunction>();

function instance(): Ajv {
  if (ajv) return ajv;
  const doc = parse(readFileSync(OPENAI_SPEC_PATH, 'utf8')) as Record<string, unknown>;
  ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  addFormats(ajv);
  // OpenAI's own formats: accept them; the types around them are still checked.
  for (const format of ['unixtime', 'int64', 'int32', 'double', 'float', 'binary', 'byte', 'password']) ajv.addFormat(format, true);
  ajv.addSchema({ $id: 'openai', components: nullableTo31(doc.components) }, 'openai');
  return ajv;
}

/**
 * The document is OpenAPI 3.1 but still uses 3.0's `nullable: true` in places (sometimes next to
 * a $ref, which Ajv refuses): rewrite those as 3.1 does, a "null" type or an anyOf with null.
 */
function nullableTo31(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(nullableTo31);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) out[key] = nullableTo31(value);
  if (out.nullable !== true) return out;
  delete out.nullable;
  if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  if (typeof out.type === 'string') return { ...out, type: [out.type, 'null'] };
  if (Array.isArray(out.type)) return { ...out, type: [...new Set([...out.type, 'null'])] };
  return { anyOf: [out, { type: 'null' }] };
}

/** The validator for components/schemas/<name>. */
export function openAiSchema(name: string): ValidateFunction {
  const known = compiled.get(name);
  if (known) return known;
  const found = instance().getSchema(`openai#/components/schemas/${name}`);
  if (!found) throw new Error(`no schema ${name} in ${OPENAI_SPEC_PATH}`);
  compiled.set(name, found);
  return found;
}

/** Throws with Ajv's errors when `value` is not a valid `name`. */
export function assertOpenAi(name: string, value: unknown): void {
  const validate = openAiSchema(name);
  if (!validate(value)) {
    throw new Error(
      `not a valid ${name}: ${JSON.stringify(validate.errors?.slice(0, 5), null, 1)}\nvalue: ${JSON.stringify(value).slice(0, 800)}`,
    );
  }
}
