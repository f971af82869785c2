/**
 * Path redaction of log lines (src/log-redaction.ts): every REDACT_PATHS path is censored, a line
 * without such a field is passed through uncopied, the caller's object is never modified, the
 * result matches pino's own `redact` option on random objects, and child bindings are covered.
 */
import { Writable } from 'node:stream';
import fc from 'fast-check';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { parseRedactPath, REDACT_PATHS, redactLogFields } from '../src/log-redaction.ts';
import { createLogger } from '../src/logger.ts';

/** An object holding `value` at `parts` (`*` becomes an arbitrary key). */
function objectAt(parts: string[], value: unknown): Record<string, unknown> {
  const [head, ...rest] = parts;
  const key = head === '*' ? 'someField' : (head as string);
  return { [key]: rest.length ? objectAt(rest, value) : value };
}

function valueAt(object: unknown, parts: string[]): unknown {
  let current = object;
  for (const part of parts) current = (current as Record<string, unknown>)[part === '*' ? 'someField' : part];
  return current;
}

function lines(build: (dest: Writable) => pino.Logger, log: (logger: pino.Logger) => void): Array<Record<string, unknown>> {
  const out: string[] = [];
  const dest = new Writable({
    write(chunk, _encoding, done) {
      out.push(String(chunk));
      done();
    },
  });
  log(build(dest));
  return out.map((line) => {
    const { time: _time, pid: _pid, hostname: _hostname, ...rest } = JSON.parse(line) as Record<string, unknown>;
    return rest;
  });
}

describe('log redaction', () => {
  it('censors every path it names, and leaves the caller’s object as it was', () => {
    for (const path of REDACT_PATHS) {
      const parts = parseRedactPath(path);
      const input = { ...objectAt(parts, 'sensitive-value'), jobId: 'j1' };
      const before = JSON.stringify(input);
      const output = redactLogFields(input);
      expect(valueAt(output, parts), path).toBe('[REDACTED]');
      expect(output.jobId).toBe('j1');
      expect(JSON.stringify(input), path).toBe(before);
    }
  });

  it('parses bracketed names', () => {
    expect(parseRedactPath('req.headers["x-api-key"]')).toEqual(['req', 'headers', 'x-api-key']);
    expect(parseRedactPath('*.token')).toEqual(['*', 'token']);
  });

  it('passes a line without such fields through as the same object', () => {
    const fields = { jobId: 'j', provider: 'openai', latencyMs: 12, err: { message: 'boom' }, headers: { 'content-type': 'x' } };
    expect(redactLogFields(fields)).toBe(fields);
  });

  it('writes the same lines as pino’s own redact option, for random objects', () => {
    // Every name the paths use, at any depth, and a few they do not.
    const named = REDACT_PATHS.flatMap(parseRedactPath).filter((part) => part !== '*');
    const names = [...new Set(named), 'jobId', 'msgx', 'data'];
    const leaf = fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.constant(null), fc.boolean());
    const tree = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc.dictionary(fc.constantFrom(...names), tie('node'), { maxKeys: 5 }),
      ),
    })).node;
    const fields = fc.dictionary(fc.constantFrom(...names), tree, { maxKeys: 6 });
    fc.assert(
      fc.property(fields, (object) => {
        const theirs = lines(
          (dest) => pino({ base: null, redact: { paths: REDACT_PATHS, censor: '[REDACTED]' } }, dest),
          (logger) => logger.info(object, 'line'),
        );
        const ours = lines(
          (dest) => pino({ base: null, formatters: { log: redactLogFields } }, dest),
          (logger) => logger.info(object, 'line'),
        );
        expect(ours).toEqual(theirs);
      }),
      { numRuns: 300 },
    );
  });

  it('an error with a secret-named field keeps its message and stack, as with pino’s redact', () => {
    const make = () => Object.assign(new Error('upstream said no'), { token: 'error-secret', code: 'E_NO' });
    const theirs = lines(
      (dest) => pino({ base: null, redact: { paths: REDACT_PATHS, censor: '[REDACTED]' } }, dest),
      (logger) => logger.warn({ err: make() }, 'failed'),
    );
    const ours = lines(
      (dest) => pino({ base: null, formatters: { log: redactLogFields } }, dest),
      (logger) => logger.warn({ err: make() }, 'failed'),
    );
    // The stacks differ only in the line each side made its error on.
    const withoutStack = (out: Array<Record<string, unknown>>) =>
      out.map(({ err, ...rest }) => {
        const { stack, ...fields } = err as Record<string, unknown>;
        expect(stack).toMatch(/^Error: upstream said no\n\s+at /);
        return { ...rest, err: fields };
      });
    expect(withoutStack(ours)).toEqual(withoutStack(theirs));
    expect(ours[0]).toMatchObject({ err: { type: 'Error', message: 'upstream said no', token: '[REDACTED]', code: 'E_NO' } });
    expect(JSON.stringify(ours)).not.toContain('error-secret');
  });

  it('redacts child bindings, for children of children too', () => {
    const out: string[] = [];
    const dest = new Writable({
      write(chunk, _encoding, done) {
        out.push(String(chunk));
        done();
      },
    });
    const logger = createLogger({ name: 'redaction-test', level: 'info' }, dest);
    const child = logger.child({ jobId: 'j1', token: 'child-secret-1' });
    child.child({ headers: { authorization: 'grandchild-secret' } }).info({ password: 'line-secret' }, 'hello');
    const line = JSON.parse(out[0] as string) as Record<string, unknown>;
    expect(line).toMatchObject({ jobId: 'j1', token: '[REDACTED]', headers: { authorization: '[REDACTED]' }, password: '[REDACTED]' });
    expect(out[0]).not.toMatch(/secret/);
  });
});
