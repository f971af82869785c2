/**
 * The result table of a bench run: each benchmark returns rows (figure, ours, baseline, ratio,
 * target, pass/fail) plus raw details; this module writes them as bench/results/latest.md (the
 * table, the run's conditions: load average, machine, sizes) and latest.json (everything).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { round } from './stats.ts';

export interface Row {
  figure: string;
  unit: string;
  ours: number | null;
  baseline: number | null;
  /** ours / baseline unless `ratioOf` says otherwise. */
  ratio: number | null;
  ratioOf?: string;
  target: string;
  /** null: informational, no target. */
  pass: boolean | null;
  note?: string;
}

export interface BenchOutcome {
  id: string;
  title: string;
  /** What "ours" and "baseline" are in this benchmark, in one line each. */
  ours: string;
  baseline: string;
  rows: Row[];
  details: Record<string, unknown>;
  elapsedMs: number;
  error?: string;
}

export interface RunInfo {
  size: string;
  startedAt: string;
  finishedAt: string;
  loadavgStart: number[];
  loadavgEnd: number[];
  /** Load average sampled every few seconds during the run. */
  loadavgSamples: number[];
  cpus: number;
  cpuModel: string;
  node: string;
  redis: string;
  redisSource: string;
  commit: string;
  argv: string[];
}

export function ratio(ours: number | null, baseline: number | null): number | null {
  if (ours === null || baseline === null || !Number.isFinite(ours) || !Number.isFinite(baseline) || baseline === 0) return null;
  return ours / baseline;
}

/** HEAD's short hash, with `+changes` when tracked files differ from it (the run measured code no commit holds). */
export function gitCommit(cwd: string): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head}+changes` : head;
  } catch {
    return 'unknown';
  }
}

export function machine(): Pick<RunInfo, 'cpus' | 'cpuModel' | 'node'> {
  const list = cpus();
  return { cpus: list.length, cpuModel: list[0]?.model.trim() ?? 'unknown', node: process.version };
}

export function currentLoad(): number[] {
  return loadavg().map((v) => Math.round(v * 100) / 100);
}

const fmt = (v: number | null) => (v === null || !Number.isFinite(v) ? '–' : String(round(v)));

function verdict(row: Row): string {
  if (row.pass === null) return 'info';
  return row.pass ? '**pass**' : '**FAIL**';
}

export function renderMarkdown(info: RunInfo, outcomes: BenchOutcome[]): string {
  const lines: string[] = [];
  lines.push('# Switchyard benchmarks: latest run', '');
  lines.push(
    `Size **${info.size}**, ${info.startedAt} to ${info.finishedAt}, commit \`${info.commit}\`, ${info.cpus} × ${info.cpuModel}, Node ${info.node}, Redis ${info.redis} (${info.redisSource}).`,
    '',
  );
  const peak = info.loadavgSamples.length ? Math.max(...info.loadavgSamples) : Number.NaN;
  lines.push(
    `**Load average** (1/5/15 min) at start: ${info.loadavgStart.join(' / ')}; at end: ${info.loadavgEnd.join(' / ')}; 1-min peak during the run: ${round(peak)}. ` +
      'The machine is shared, so absolute figures move with its load; ours and the baseline of each row were measured side by side in this run, so the ratios are what count.',
    '',
  );
  lines.push('| bench | figure | ours | baseline | ratio | target | result |', '| --- | --- | ---: | ---: | ---: | --- | --- |');
  for (const outcome of outcomes) {
    if (outcome.error) {
      lines.push(`| ${outcome.id} | ${outcome.title}: did not run | – | – | – | – | **ERROR** |`);
      continue;
    }
    for (const row of outcome.rows) {
      const unit = row.unit ? ` (${row.unit})` : '';
      const ratioText = row.ratio === null ? '–' : `${fmt(row.ratio)}${row.ratioOf ? ` ${row.ratioOf}` : ''}`;
      lines.push(
        `| ${outcome.id} | ${row.figure}${unit} | ${fmt(row.ours)} | ${fmt(row.baseline)} | ${ratioText} | ${row.target} | ${verdict(row)} |`,
      );
    }
  }
  lines.push('');
  lines.push('## What was compared', '');
  for (const outcome of outcomes) {
    lines.push(
      `- **${outcome.id} ${outcome.title}** (${Math.round(outcome.elapsedMs / 1000)} s). Ours: ${outcome.ours} Baseline: ${outcome.baseline}`,
    );
    if (outcome.error) lines.push(`  - error: \`${outcome.error.split('\n')[0]?.slice(0, 300)}\``);
    for (const row of outcome.rows) if (row.note) lines.push(`  - ${row.figure}: ${row.note}`);
  }
  lines.push('', 'Raw figures (every percentile, CPU per process, Redis commands per job) are in `latest.json`.', '');
  return lines.join('\n');
}

export function writeResults(dir: string, info: RunInfo, outcomes: BenchOutcome[]): { md: string; json: string } {
  mkdirSync(dir, { recursive: true });
  const md = join(dir, 'latest.md');
  const json = join(dir, 'latest.json');
  writeFileSync(md, renderMarkdown(info, outcomes));
  writeFileSync(json, `${JSON.stringify({ run: info, benchmarks: outcomes }, roundReplacer, 2)}\n`);
  return { md, json };
}

function roundReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'number' ? round(value) : value;
}
