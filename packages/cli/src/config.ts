/**
 * Owns the options every command shares (--url, --key, --json, --help), where their values come
 * from (flag, then SWITCHYARD_URL / SWITCHYARD_API_KEY, then the default) and argument parsing
 * with node:util parseArgs, so a mistyped flag is a usage error that names it.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { SwitchyardClient } from './client.ts';

export const DEFAULT_URL = 'http://127.0.0.1:8080';

export const COMMON_OPTIONS = {
  url: { type: 'string' },
  key: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsConfig['options'];

export const COMMON_HELP = `Common options:
  --url <url>    API base URL (default: $SWITCHYARD_URL, else ${DEFAULT_URL})
  --key <key>    API key (default: $SWITCHYARD_API_KEY; prefer the variable: flags show up in ps)
  --json         machine-readable output
  -h, --help     this help`;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** parseArgs with the common options added; unknown flags become a UsageError. */
export function parseCommand<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  try {
    return parseArgs({ args, options: { ...COMMON_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** `attempts`: tries for retryable failures; interactive commands give up fast, a batch rides out an API restart. */
export function clientFrom(
  values: { url?: string | undefined; key?: string | undefined },
  options: { attempts?: number; env?: NodeJS.ProcessEnv } = {},
): SwitchyardClient {
  const env = options.env ?? process.env;
  const url = values.url ?? env.SWITCHYARD_URL ?? DEFAULT_URL;
  try {
    new URL(url);
  } catch {
    throw new UsageError(`--url "${url}" is not a URL. Fix: e.g. --url http://127.0.0.1:8080`);
  }
  return new SwitchyardClient({ url, key: values.key ?? env.SWITCHYARD_API_KEY, attempts: options.attempts ?? 3 });
}

export function positiveInt(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a whole number >= 1, got "${raw}"`);
  return n;
}
