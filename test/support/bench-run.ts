/**
 * Runs `bench/run.ts --tiny --only=<ids>` on the test Redis, writing into a directory of its own,
 * for the smoke tests that keep the benchmark harness from rotting (figures are not judged there).
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { testRedisUrl } from '@switchyard/shared/testing';

const REPO_ROOT = resolve(import.meta.dirname, '../..');

export async function runTinyBench(only: string, out: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', resolve(REPO_ROOT, 'bench/run.ts'), '--tiny', `--only=${only}`, '--redis=env', `--out=${out}`],
    { cwd: REPO_ROOT, env: { ...process.env, REDIS_URL: testRedisUrl() }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (c: Buffer) => {
    output += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    output += c.toString();
  });
  const code = await new Promise<number | null>((done) => child.on('exit', done));
  return { code, output };
}
