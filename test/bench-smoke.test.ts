/**
 * Keeps the benchmark harness from rotting silently: benchmarks are not tests and never run in
 * `pnpm test`, but this runs `bench/run.ts --tiny --only=b1` (one benchmark, seconds long, on the
 * test Redis) and checks it wrote a well-formed result table. Figures are not judged here.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runTinyBench } from './support/bench-run.ts';

const out = mkdtempSync(join(tmpdir(), 'sy-bench-smoke-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('bench harness (smoke)', () => {
  it('runs B1 in tiny mode and writes latest.md and latest.json', async () => {
    const { code, output } = await runTinyBench('b1', out);
    expect(code, output).toBe(0);

    const json = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'));
    expect(json.run.size).toBe('tiny');
    expect(json.run.loadavgStart).toHaveLength(3);
    const [b1] = json.benchmarks;
    expect(b1.id).toBe('B1');
    expect(b1.error).toBeUndefined();
    const throughput = b1.rows.find((r: { figure: string }) => r.figure.startsWith('jobs/s'));
    expect(throughput.ours).toBeGreaterThan(0);
    expect(throughput.baseline).toBeGreaterThan(0);
    expect(throughput.ratio).toBeCloseTo(throughput.ours / throughput.baseline, 2);
    expect(b1.details.ours[0].failed).toBe(0);

    const md = readFileSync(join(out, 'latest.md'), 'utf8');
    expect(md).toContain('| bench | figure | ours | baseline | ratio | target | result |');
    expect(md).toMatch(/\| B1 \| jobs\/s, 1 worker process \(jobs\/s\) \| [\d.]+ \| [\d.]+ \| [\d.]+ \| >= 0\.7 \|/);
    expect(md).toMatch(/Load average/);
  }, 120_000);
});
