/**
 * Summarises V8 CPU profiles (`.cpuprofile`, e.g. from BENCH_CPU_PROF_DIR=dir pnpm bench): self time
 * by function and by package/module, so "where does the worker's CPU go" has a one-command answer.
 *
 *   tsx bench/tools/profile-summary.ts <file.cpuprofile> [top=25] [skipMs=0]
 *
 * skipMs leaves out the first milliseconds of the profile (process start-up: module loading and
 * compilation dominate them), so what remains is the steady state under load.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export function summarizeProfile(
  profile: Profile,
  top = 25,
  skipMs = 0,
): { byFunction: [string, number][]; byModule: [string, number][]; inclusive: [string, number][]; totalMs: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const selfUs = new Map<number, number>();
  let elapsedUs = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    elapsedUs += delta;
    if (elapsedUs >= skipMs * 1000) selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  });
  const fn = new Map<string, number>();
  const mod = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    total += us;
    const where = frame.url.replace(/^file:\/\//, '').replace(/.*\/node_modules\/\.pnpm\/[^/]+\/node_modules\//, 'npm:');
    const short = where.replace(/^\/work\/main\//, '');
    const key = `${frame.functionName || '(anonymous)'} ${short}:${frame.lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    const module = !frame.url
      ? `(${frame.functionName || 'native'})`
      : short.startsWith('npm:')
        ? short
            .split('/')
            .slice(0, short.startsWith('npm:@') ? 2 : 1)
            .join('/')
        : short.startsWith('node:')
          ? 'node:internal'
          : short.split('/').slice(0, 3).join('/');
    mod.set(module, (mod.get(module) ?? 0) + us);
  }
  // Inclusive time of the workspace's own functions (apps/, packages/): what each code path costs.
  const inclusive = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (!frame || !/\/(apps|packages)\/[^/]+\/src\//.test(frame.url)) continue;
      const key = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^file:\/\/.*?\/(apps|packages)\//, '$1/')}:${frame.lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  const sorted = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, v]) => [k, v / 1000] as [string, number]);
  return { byFunction: sorted(fn), byModule: sorted(mod), inclusive: sorted(inclusive), totalMs: total / 1000 };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, topArg, skipArg] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: tsx bench/tools/profile-summary.ts <file.cpuprofile> [top] [skipMs]\n');
    process.exit(2);
  }
  const summary = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(topArg ?? 25), Number(skipArg ?? 0));
  const pct = (ms: number) => `${((100 * ms) / summary.totalMs).toFixed(1).padStart(5)}%`;
  process.stdout.write(`total sampled: ${summary.totalMs.toFixed(0)} ms\n\nby module (self time):\n`);
  for (const [k, ms] of summary.byModule) process.stdout.write(`${pct(ms)} ${ms.toFixed(0).padStart(7)} ms  ${k}\n`);
  process.stdout.write('\nworkspace functions (inclusive time):\n');
  for (const [k, ms] of summary.inclusive) process.stdout.write(`${pct(ms)} ${ms.toFixed(0).padStart(7)} ms  ${k}\n`);
  process.stdout.write('\nby function (self time):\n');
  for (const [k, ms] of summary.byFunction) process.stdout.write(`${pct(ms)} ${ms.toFixed(0).padStart(7)} ms  ${k}\n`);
}
