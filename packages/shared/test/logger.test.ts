import { spawn, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const LOGGER = JSON.stringify(resolve(import.meta.dirname, '../src/logger.ts'));

/** Runs `body` as an ES module in a child process with createLogger imported. */
function runScript(body: string) {
  const script = `import { createLogger } from ${LOGGER};\n${body}`;
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
}

const parsed = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);

// The default destination (logger.ts, stdoutDestination) must lose and reorder nothing on any way
// out of a process. pino's asynchronous stdout failed the fatal test in 3 of 12 runs.
describe('the stdout log destination', () => {
  it('loses no line when the process exits right after logging', () => {
    const run = runScript(`
      const logger = createLogger({ name: 'exit-test' });
      for (let i = 0; i < 5000; i++) logger.info({ i }, 'line');
      process.exit(3);
    `);
    expect(run.status).toBe(3);
    const lines = parsed(run.stdout);
    expect(lines).toHaveLength(5000);
    expect(lines.at(-1)).toMatchObject({ i: 4999, msg: 'line' });
  });

  it('loses no line when the process dies of an uncaught exception', () => {
    const run = runScript(`
      const logger = createLogger({ name: 'crash-test' });
      for (let i = 0; i < 2000; i++) logger.info({ i }, 'line');
      setImmediate(() => { throw new Error('boom'); });
    `);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('boom');
    const lines = parsed(run.stdout);
    expect(lines).toHaveLength(2000);
    expect(lines.at(-1)).toMatchObject({ i: 1999 });
  });

  it("writes a fatal line before the process's own exit call returns", () => {
    const run = runScript(`
      const logger = createLogger({ name: 'fatal-test' });
      logger.info('before');
      logger.fatal({ reason: 'config' }, 'cannot start');
      process.reallyExit(7); // skips the exit handlers: only a synchronous flush can have written the line
    `);
    expect(run.status).toBe(7);
    const lines = parsed(run.stdout);
    expect(lines.map((l) => l.msg)).toEqual(['before', 'cannot start']);
    expect(lines[1]).toMatchObject({ reason: 'config', level: 60 });
  });

  it('holds nothing back while the process keeps running idle', async () => {
    const script = `import { createLogger } from ${LOGGER};
      const logger = createLogger({ name: 'idle-test' });
      logger.info({ n: 1 }, 'first');
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const line = await new Promise<string>((done, fail) => {
        const timer = setTimeout(() => fail(new Error('no line within 10 s')), 10_000);
        let text = '';
        child.stdout.on('data', (chunk: Buffer) => {
          text += chunk.toString('utf8');
          if (text.includes('\n')) {
            clearTimeout(timer);
            done(text.split('\n')[0]!);
          }
        });
      });
      expect(JSON.parse(line)).toMatchObject({ n: 1, msg: 'first', service: 'idle-test' });
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('the time of a line', () => {
  it("is the ISO 8601 time of the millisecond it was written in, as pino's isoTime writes it", () => {
    const run = runScript(`
      const logger = createLogger({ name: 'time-test' });
      const spin = (ms) => { const until = Date.now() + ms; while (Date.now() < until); };
      for (let i = 0; i < 3; i++) { console.log(JSON.stringify({ before: Date.now() })); logger.info({ i }, 'line'); logger.info({ i }, 'same ms'); console.log(JSON.stringify({ after: Date.now() })); spin(3); }
    `);
    expect(run.status).toBe(0);
    const lines = parsed(run.stdout);
    expect(lines).toHaveLength(12);
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const [before, first, second, after] = lines.slice(i * 4, i * 4 + 4) as [
        { before: number },
        { time: string },
        { time: string },
        { after: number },
      ];
      expect(first.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const at = Date.parse(first.time);
      expect(at).toBeGreaterThanOrEqual(before.before);
      expect(Date.parse(second.time)).toBeGreaterThanOrEqual(at);
      expect(Date.parse(second.time)).toBeLessThanOrEqual(after.after);
      times.push(at);
    }
    // Lines 3 ms apart never share a rendered time.
    expect(new Set(times).size).toBe(3);
  });
});
