/**
 * Keeps B10 (usage and budgets at intake) from rotting: runs `bench/run.ts --tiny --only=b10` on the
 * test Redis and checks it wrote its row, both sides answered every request, and the figures are
 * sane. The 5% target itself is judged by `pnpm bench`, never by a test on a shared machine.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runTinyBench } from './support/bench-run.ts';

const out = mkdtempSync(join(tmpdir(), 'sy-bench-usage-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('B10 usage and budgets (smoke)', () => {
  it('runs in tiny mode and writes its CPU-per-request row', async () => {
    const { code, output } = await runTinyBench('b10', out);
    expect(code, output).toBe(0);

    const json = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'));
    const [b10] = json.benchmarks;
    expect(b10.id).toBe('B10');
    expect(b10.error).toBeUndefined();
    const cpu = b10.rows.find((r: { figure: string }) => r.figure === 'API process CPU per request');
    expect(cpu.ours).toBeGreaterThan(0);
    expect(cpu.baseline).toBeGreaterThan(0);
    expect(cpu.target).toBe('<= 1.05');
    expect(cpu.note).not.toMatch(/non-2xx/);
    for (const side of [...b10.details.ours, ...b10.details.baseline]) {
      expect(side.load.ok).toBeGreaterThan(0);
      expect(side.load.non2xx).toBe(0);
    }
    expect(readFileSync(join(out, 'latest.md'), 'utf8')).toMatch(/\| B10 \| API process CPU per request \(ms\) \|/);
  }, 120_000);
});
