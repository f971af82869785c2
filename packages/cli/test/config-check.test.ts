/**
 * `switchyard config check [FILE]` as a real child process (the bin, through tsx): a valid file
 * prints its hash (the one the processes will run on), deployments and routes, exit 0; an invalid
 * one lists every problem by its path on stderr, exit 1; a missing file is one clear line, exit 1.
 * No key appears in anything printed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig, parseFleetConfig } from '@switchyard/shared';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = resolve(import.meta.dirname, '../bin/switchyard.mjs');
const dir = mkdtempSync(join(tmpdir(), 'sy-config-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KEYS = {
  OPENAI_API_KEY: 'sk-proj-checkMAIN0000000000000',
  OPENAI_API_KEY_2: 'backup-key-9d8c7b6a5f4e3d2c',
  AZURE_OPENAI_API_KEY: 'f00dfeedc0ffee0123456789abcdef01',
};

/** The repository's example config: what a user copies first must pass its own check. */
const EXAMPLE = resolve(import.meta.dirname, '../../../examples/fleet.yaml');
const FLEET = readFileSync(EXAMPLE, 'utf8');

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Runs the CLI with the test runner's environment minus SWITCHYARD_CONFIG, plus `env`. */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const base = { ...process.env };
  delete base.SWITCHYARD_CONFIG;
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((done) => child.once('close', (code) => done({ code, stdout, stderr })));
}

const expectNoKey = (text: string) => {
  for (const key of Object.values(KEYS)) expect(text).not.toContain(key.slice(0, 12));
};

describe('switchyard config check', () => {
  it('prints the hash, the deployments and the routes of a valid file, exit 0', async () => {
    const run = await cli(['config', 'check', EXAMPLE], KEYS);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const hash = parseFleetConfig(FLEET, { env: KEYS, base: loadConfig({}) }).hash;
    const lines = run.stdout.split('\n').map((l) => l.trimEnd());
    expect(lines.slice(0, 3)).toEqual([`${EXAMPLE}: valid`, `hash           ${hash}`, 'default route  cheap']);
    expect(lines).toContainEqual(expect.stringMatching(/^openai-main\s+openai\s+\(vendor default\)\s+set\s+32$/));
    expect(lines).toContainEqual(expect.stringMatching(/^azure-eu\s+azure-openai\s+contoso-eu\.openai\.azure\.com\s+set\s+-$/));
    expect(lines).toContainEqual(expect.stringMatching(/^local-vllm\s+openai-compatible\s+gpu-box:8000\s+-\s+8$/));
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^gpt-4o\s+weighted\s+openai-main\/gpt-4o \(3\), openai-backup\/gpt-4o \(1\), azure-eu\/gpt-4o-prod \(1\)\s+cheap$/,
      ),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^cheap\s+latency\s+local-vllm\/meta-llama\/Llama-3\.1-8B-Instruct \(1\), openai-main\/gpt-4o-mini \(1\)\s+openai-backup\/gpt-4o-mini$/,
      ),
    );
    expectNoKey(run.stdout);
  });

  it('reads $SWITCHYARD_CONFIG when no file is named, and prints the redacted view with --json', async () => {
    const run = await cli(['config', 'check', '--json'], { ...KEYS, SWITCHYARD_CONFIG: EXAMPLE });
    expect(run.code).toBe(0);
    const view = JSON.parse(run.stdout) as { hash: string; path: string; deployments: { id: string; api_key: unknown }[] };
    expect(view.path).toBe(EXAMPLE);
    expect(view.hash).toMatch(/^[0-9a-f]{12}$/);
    expect(view.deployments.map((d) => [d.id, d.api_key])).toEqual([
      ['openai-main', '[REDACTED]'],
      ['openai-backup', '[REDACTED]'],
      ['azure-eu', '[REDACTED]'],
      ['local-vllm', null],
    ]);
    expectNoKey(run.stdout);
  });

  it('lists every problem by its path on stderr, exit 1', async () => {
    const broken = FLEET.replace('deployment: openai-backup', 'deployment: zzz')
      .replace('weight: 3', 'weight: -3')
      .replace('fallbacks: [cheap]', 'fallbacks: [chaep]');
    const path = write('broken.yaml', broken);
    const run = await cli(['config', 'check', path], { ...KEYS, OPENAI_API_KEY_2: '' });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.split('\n').filter(Boolean)).toEqual([
      `switchyard config check: ${path} is invalid, 4 problems:`,
      '  - deployments[1].api_key: environment variable OPENAI_API_KEY_2 is empty. Fix: set OPENAI_API_KEY_2 in the environment of every process.',
      expect.stringMatching(/^ {2}- routes\[0\]\.fallbacks\[0\]: unknown route "chaep" \(routes: gpt-4o, cheap\)/),
      expect.stringMatching(/^ {2}- routes\[0\]\.targets\[0\]\.weight: must be a positive number/),
      '  - routes[0].targets[1].deployment: unknown deployment "zzz" (known: openai-main, openai-backup, azure-eu, local-vllm)',
    ]);
    expectNoKey(run.stderr);
  });

  it('says so in one line when the file cannot be read, exit 1', async () => {
    const path = join(dir, 'missing.yaml');
    const run = await cli(['config', 'check', path]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`switchyard config check: cannot read ${path}: ENOENT: no such file or directory, open '${path}'\n`);
  });

  it('is a usage error without a file, and is in the help', async () => {
    const none = await cli(['config', 'check']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no file: name one, or set SWITCHYARD_CONFIG/);
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^ {2}config check \[FILE\] +validate a fleet config file/m);
  });
});
