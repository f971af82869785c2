/**
 * Owns the chaos suite's report: each test file records its figures (a section) as JSON under
 * test-artifacts/chaos/, and after each file the whole of bench/results/chaos.md is rendered again
 * from every section on disk, so the file is complete once the last test file of a run has ended
 * (files run one at a time, in an order vitest chooses). A section that did not pass says so.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../support/processes.ts';
import { type ScanTotals, scanner } from './secrets.ts';

const SECTIONS_DIR = join(REPO_ROOT, 'test-artifacts', 'chaos');
export const REPORT_PATH = join(REPO_ROOT, 'bench', 'results', 'chaos.md');

type Value = string | number | boolean | null;

export interface Section {
  id: string;
  title: string;
  order: number;
  passed: boolean;
  ranAt: string;
  durationS: number;
  /** One line for the summary table. */
  summary: string;
  figures: Array<[string, Value]>;
  /** The few figures the issue asks for, gathered at the top of the report. */
  headlines?: Array<[string, Value]>;
  notes: string[];
  secrets: ScanTotals;
  leaks: Array<{ secret: string; where: string }>;
}

export class ChaosReport {
  private readonly started = Date.now();
  private readonly figures = new Map<string, Value>();
  private readonly headlines = new Map<string, Value>();
  private readonly notes: string[] = [];
  private passedTests = 0;
  summary = '';

  /** `tests`: how many tests of the file must call passed() for the section to pass. */
  constructor(
    private readonly id: string,
    private readonly title: string,
    private readonly order: number,
    private readonly tests: number,
  ) {}

  set(label: string, value: Value): void {
    this.figures.set(label, value);
  }

  /** A figure for the headline table at the top of the report. */
  headline(label: string, value: Value): void {
    this.headlines.set(label, value);
  }

  note(text: string): void {
    this.notes.push(text);
  }

  /** Call at the end of each test, after its assertions. */
  passed(): void {
    this.passedTests += 1;
  }

  /** Saves this section and renders bench/results/chaos.md from every section on disk. */
  write(): void {
    const section: Section = {
      id: this.id,
      title: this.title,
      order: this.order,
      passed: this.passedTests >= this.tests,
      ranAt: new Date().toISOString(),
      durationS: Math.round((Date.now() - this.started) / 100) / 10,
      summary: this.summary,
      figures: [...this.figures],
      headlines: [...this.headlines],
      notes: this.notes,
      secrets: { ...scanner.totals },
      leaks: scanner.leaks.map((l) => ({ secret: l.secret, where: l.where })),
    };
    mkdirSync(SECTIONS_DIR, { recursive: true });
    writeFileSync(join(SECTIONS_DIR, `${this.id}.json`), `${JSON.stringify(section, null, 2)}\n`);
    writeFileSync(REPORT_PATH, renderReport(readSections()));
  }
}

/** Where tests may leave material for a human to look at (not part of the report). */
export const DEBUG_DIR = join(SECTIONS_DIR, 'debug');

export function readSections(): Section[] {
  let names: string[] = [];
  try {
    names = readdirSync(SECTIONS_DIR).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  const sections: Section[] = [];
  for (const name of names) {
    try {
      const section = JSON.parse(readFileSync(join(SECTIONS_DIR, name), 'utf8')) as Section;
      if (typeof section.id === 'string' && Array.isArray(section.figures)) sections.push(section);
    } catch {
      // a half-written file from an interrupted run: skip it
    }
  }
  return sections.sort((a, b) => a.order - b.order);
}

function redisVersion(): string {
  try {
    return /v=(\S+)/.exec(execFileSync('redis-server', ['--version'], { encoding: 'utf8' }))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

const cell = (value: Value) => (value === null ? '–' : String(value).replace(/\|/g, '\\|'));

export function renderReport(sections: Section[]): string {
  const latest = Math.max(...sections.map((s) => Date.parse(s.ranAt)));
  // Sections more than two hours older than the newest are from another run: flagged, not hidden.
  const stale = (s: Section) => latest - Date.parse(s.ranAt) > 2 * 3_600_000;
  const total = sections.reduce((n, s) => n + s.durationS, 0);
  const secrets = sections.reduce(
    (t, s) => ({
      logLines: t.logLines + s.secrets.logLines,
      responses: t.responses + s.secrets.responses,
      redisValues: t.redisValues + s.secrets.redisValues,
      bytes: t.bytes + s.secrets.bytes,
      leaks: t.leaks + s.secrets.leaks,
    }),
    { logLines: 0, responses: 0, redisValues: 0, bytes: 0, leaks: 0 },
  );
  const cpu = cpus();
  const out: string[] = [];
  out.push('# Chaos suite results');
  out.push('');
  out.push(
    'Generated by `pnpm test:chaos` (test/chaos/**; each file rewrites this report when it ends). Every test runs the real API and ' +
      'worker processes against a private appendonly redis-server of its own; provider faults come from the mock server ' +
      '(packages/providers/src/mock-server).',
  );
  out.push('');
  out.push(
    `Last run: ${new Date(latest).toISOString()} · machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'cpu'}, ` +
      `${Math.round(totalmem() / 2 ** 30)} GiB, load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' / ')} at the end · Node ${process.version} · redis-server ${redisVersion()}`,
  );
  out.push('');
  out.push(`Suite time (sum of the files): **${Math.round(total)} s**.`);
  out.push('');
  out.push('| test | result | time | figures |');
  out.push('| --- | --- | --- | --- |');
  for (const s of sections) {
    out.push(
      `| ${s.title} | ${s.passed ? 'pass' : '**FAIL**'}${stale(s) ? ' (earlier run)' : ''} | ${s.durationS} s | ${cell(s.summary)} |`,
    );
  }
  out.push('');
  out.push('| headline figure | value | test |');
  out.push('| --- | --- | --- |');
  for (const s of sections) for (const [label, value] of s.headlines ?? []) out.push(`| ${cell(label)} | ${cell(value)} | ${s.id} |`);
  out.push('');
  out.push(
    `**Secrets:** ${secrets.logLines.toLocaleString('en-US')} log lines, ${secrets.responses.toLocaleString('en-US')} HTTP responses ` +
      `(headers and bodies) and ${secrets.redisValues.toLocaleString('en-US')} Redis values (${(secrets.bytes / 1048576).toFixed(1)} MiB in all) ` +
      `scanned for the 4 provider keys, 2 client keys and the operator key of the suite (whole keys and their unique tails): **${secrets.leaks} found**.`,
  );
  for (const s of sections) {
    out.push('');
    out.push(`## ${s.title}`);
    out.push('');
    out.push(
      `${s.passed ? 'Passed' : '**Failed**'} in ${s.durationS} s on ${s.ranAt}${stale(s) ? ' (an earlier run than the rest)' : ''}.`,
    );
    out.push('');
    out.push('| figure | value |');
    out.push('| --- | --- |');
    for (const [label, value] of s.figures) out.push(`| ${cell(label)} | ${cell(value)} |`);
    out.push(
      `| secrets scan (this file) | ${s.secrets.logLines} log lines, ${s.secrets.responses} responses, ${s.secrets.redisValues} Redis values: ${s.secrets.leaks} leaks |`,
    );
    for (const leak of s.leaks) out.push(`| LEAK | ${cell(leak.secret)} in ${cell(leak.where)} |`);
    if (s.notes.length > 0) {
      out.push('');
      for (const note of s.notes) out.push(`- ${note}`);
    }
  }
  out.push('');
  return out.join('\n');
}

const t0 = Date.now();
/** A progress line on the test's console (elapsed seconds since the file started). */
export function progress(message: string): void {
  console.log(`[chaos +${((Date.now() - t0) / 1000).toFixed(1)}s] ${message}`);
}
