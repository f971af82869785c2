/**
 * No secret appears in anything these paths produce: log lines (pino, captured at trace level),
 * error messages and their serialisations, probe results, console output, the mock server's stats,
 * and key-check reports. Keys are real-looking; some vendor error bodies echo the key back (Gemini
 * names the consumer `api_key:<key>`), which is exactly the leak this guards against.
 */
import { inspect } from 'node:util';
import { createLogger } from '@switchyard/shared';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { checkProviderKeys } from '../src/key-checks.ts';
import { type MockServer, startMockServer } from '../src/mock-server/index.ts';
import { ProviderError } from '../src/provider-error.ts';
import { ADAPTER_NAMES, callOptions, KEYS, MODEL_FOR, makeAdapter, userRequest } from './helpers.ts';

const SECRETS = Object.values(KEYS);
const PREFIX = /^(sk-or-v1-|sk-proj-|sk-ant-api03-|AIza)/;

/** Every 16-character window of each key's secret part: a partial leak fails as well as a whole one. */
function leaks(text: string): string[] {
  const found: string[] = [];
  for (const key of SECRETS) {
    const body = key.replace(PREFIX, '');
    for (let i = 0; i + 16 <= body.length; i++) {
      if (text.includes(body.slice(i, i + 16))) {
        found.push(`${key.slice(0, 8)}… window at ${i}`);
        break;
      }
    }
  }
  return found;
}

let server: MockServer;
const lines: string[] = [];
const consoleOutput: string[] = [];
const logger = createLogger({ name: 'providers-test', level: 'trace' }, { write: (line: string) => lines.push(line) });

beforeAll(async () => {
  server = await startMockServer();
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      consoleOutput.push(args.map((a) => (typeof a === 'string' ? a : inspect(a))).join(' '));
    });
  }
});
afterAll(async () => {
  vi.restoreAllMocks();
  await server.close();
});

function dump(err: unknown): string {
  if (!(err instanceof ProviderError)) return `NOT A PROVIDER ERROR: ${inspect(err)}`;
  return [
    err.message,
    String(err),
    err.stack ?? '',
    JSON.stringify(err),
    inspect(err, { depth: 5 }),
    JSON.stringify(err.rateLimit ?? {}),
  ].join('\n');
}

const FAULTS = [
  'status=401',
  'error=auth',
  'error=forbidden',
  'status=403',
  'status=500',
  'status=429;retry-after=1',
  'reset',
  'malformed',
  'inband',
  'cut=1',
  'hang',
];

describe('no secret in errors, logs, probes, stats', () => {
  it('chat failures and successes across every adapter and fault', async () => {
    const produced: string[] = [];
    for (const adapter of ADAPTER_NAMES) {
      const provider = makeAdapter(adapter, server.baseUrls, logger);
      for (const stream of [false, true]) {
        const ok = await provider.chat(userRequest(MODEL_FOR[adapter], 'hello'), callOptions(stream));
        produced.push(JSON.stringify(ok));
        const failures = await Promise.allSettled(
          FAULTS.map((fault) =>
            provider.chat(
              userRequest(MODEL_FOR[adapter], `x [[mock:${fault}]]`),
              callOptions(stream, { timeoutMs: fault === 'hang' ? 150 : 10_000 }),
            ),
          ),
        );
        for (const outcome of failures) {
          expect(outcome.status).toBe('rejected');
          if (outcome.status === 'rejected') produced.push(dump(outcome.reason));
        }
      }
    }
    // The echo of the key in Gemini's PERMISSION_DENIED body really happened, and was scrubbed.
    expect(produced.some((text) => text.includes("Consumer 'api_key:[REDACTED]'"))).toBe(true);
    expect(leaks(produced.join('\n'))).toEqual([]);
  });

  it('probes, healthy and failing', async () => {
    const produced: string[] = [];
    for (const adapter of ADAPTER_NAMES) {
      const provider = makeAdapter(adapter, server.baseUrls, logger);
      produced.push(JSON.stringify(await provider.probe({ timeoutMs: 1_000 })));
      for (const fault of ['error=auth', 'error=forbidden', 'status=500', 'hang', 'malformed']) {
        server.setFaults([{ provider: adapter, endpoint: adapter === 'openrouter' ? 'key' : 'models', fault }]);
        produced.push(JSON.stringify(await provider.probe({ timeoutMs: 150 })));
      }
      server.clearFaults();
    }
    expect(leaks(produced.join('\n'))).toEqual([]);
  });

  it('log lines, console output and mock server stats', () => {
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.some((line) => line.includes('provider call failed'))).toBe(true);
    expect(leaks(lines.join('\n'))).toEqual([]);
    expect(leaks(consoleOutput.join('\n'))).toEqual([]);
    expect(leaks(JSON.stringify(server.stats()))).toEqual([]);
  });

  it('the scanner itself finds whole and partial keys', () => {
    expect(leaks(`x ${KEYS.gemini} y`)).toHaveLength(1);
    expect(leaks(`x ${KEYS.openrouter.slice(20, 40)} y`)).toHaveLength(1);
    expect(leaks('sk-proj-****************************kW2')).toEqual([]);
  });

  it('key checks report problems without printing the key', () => {
    const malformed = `${KEYS.openrouter.slice(0, -1)}Z`;
    const problems = checkProviderKeys({
      OPENROUTER_API_KEY: malformed,
      OPENAI_API_KEY: KEYS.openrouter,
      ANTHROPIC_API_KEY: ` ${KEYS.anthropic}`,
      GEMINI_API_KEY: KEYS.gemini.slice(0, 20),
    });
    expect(problems.map((p) => p.variable).sort()).toEqual(['ANTHROPIC_API_KEY', 'GEMINI_API_KEY', 'OPENAI_API_KEY', 'OPENROUTER_API_KEY']);
    const text = problems.map((p) => p.message).join('\n');
    expect(leaks(text)).toEqual([]);
    expect(text).not.toContain(malformed.slice(9, 30));
  });
});
