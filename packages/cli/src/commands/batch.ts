/**
 * Owns `switchyard batch <in.jsonl> --out <out.jsonl>`: reads an OpenAI-style batch file, decides
 * between a fresh run and a resume (the state file next to --out must belong to the same input),
 * runs the lines with a progress display, and handles Ctrl-C: the first stops cleanly with the
 * output and state saved, a second exits at once (recovery copes with that too).
 */
import { setMaxListeners } from 'node:events';
import { closeSync, existsSync, statSync } from 'node:fs';
import { type BatchState, loadState, newState, openOutput, recoverOutput, resetOutput, saveState, statePath } from '../batch/checkpoint.ts';
import { readBatchInput } from '../batch/input.ts';
import { ProgressReporter } from '../batch/progress.ts';
import { BatchRunner, type RunnerStats } from '../batch/runner.ts';
import { COMMON_HELP, clientFrom, parseCommand, positiveInt, UsageError } from '../config.ts';
import { formatDuration, printJson, stderr, stdout } from '../output.ts';

export const BATCH_HELP = `Usage: switchyard batch <in.jsonl> --out <out.jsonl> [options]

Runs every line of an OpenAI batch file ({"custom_id", "method":"POST", "url":"/v1/chat/completions",
"body":{...}}) as a Switchyard job and writes one result line per input line, in input order, in
OpenAI's batch output shape ({id, custom_id, response:{status_code, body}, error}).

Interrupted (Ctrl-C, a crash, kill -9)? Run the same command again: finished lines are kept, the
rest resume, and no line is submitted twice (each line's Idempotency-Key comes from the file's
content and its custom_id). Progress is saved in <out>.state.json.

Options:
  -o, --out <path>            results file (required)
  -c, --concurrency <n>       lines in flight at once (default 32)
  -m, --model <model>         run every line on this model (overrides the lines' own)
  --restart                   write the output from scratch (jobs the server still holds are reused)
  --progress-interval <s>     seconds between progress lines when stderr is not a terminal (default 5)
  -q, --quiet                 no progress display

Exit status: 0 when every line has its result line (failed jobs included), 1 on an error, 130 when
interrupted.

${COMMON_HELP}`;

export async function batchCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {
    out: { type: 'string', short: 'o' },
    concurrency: { type: 'string', short: 'c' },
    model: { type: 'string', short: 'm' },
    restart: { type: 'boolean', default: false },
    'progress-interval': { type: 'string' },
    quiet: { type: 'boolean', short: 'q', default: false },
  });
  if (values.help) {
    stdout(BATCH_HELP);
    return 0;
  }
  const [inPath] = positionals;
  if (!inPath || positionals.length > 1)
    throw new UsageError('batch takes one input file. Fix: switchyard batch requests.jsonl --out results.jsonl');
  const out = values.out;
  if (!out) throw new UsageError('--out is required. Fix: switchyard batch requests.jsonl --out results.jsonl');
  const concurrency = positiveInt('concurrency', values.concurrency, 32);
  const intervalMs = positiveInt('progress-interval', values['progress-interval'], 5) * 1000;
  const client = clientFrom(values, { attempts: 9 });

  const input = await readBatchInput(inPath, { model: values.model });
  for (const [field, count] of input.ignoredFields)
    stderr(`note: body field "${field}" is not used by Switchyard (${count} lines); ignored`);

  let state = values.restart ? null : loadState(out);
  if (state && state.input_sha256 !== input.sha256) {
    throw new UsageError(
      `${out} belongs to a batch of different input (${state.input}, changed or another file). Fix: use another --out, or --restart to write this one over.`,
    );
  }
  if (!state && !values.restart && existsSync(out) && statSync(out).size > 0) {
    throw new UsageError(
      `${out} exists and no batch state goes with it (${statePath(out)}). Fix: use another --out, or --restart to write it over.`,
    );
  }
  if (!state) {
    state = newState(input);
    resetOutput(out);
  }
  const recovered = await recoverOutput(out, input);
  if (recovered.written > 0) stderr(`resuming: ${recovered.written} of ${input.lines.length} lines already done`);
  const previous = { submitted: state.submitted, replayed: state.replayed };
  state.runs += 1;
  Object.assign(state, recovered, { done: recovered.written === input.lines.length });
  saveState(out, state);

  const fd = openOutput(out);
  const sync = (stats: RunnerStats, s: BatchState) =>
    Object.assign(s, {
      written: stats.written,
      succeeded: stats.succeeded,
      failed: stats.failed,
      submitted: previous.submitted + stats.submitted,
      replayed: previous.replayed + stats.replayed,
    });
  let lastSave = 0;
  const runner = new BatchRunner(client, input.lines, fd, recovered, {
    concurrency,
    onWrite: (stats) => {
      if (Date.now() - lastSave < 250) return;
      lastSave = Date.now();
      saveState(out, sync(stats, state));
    },
  });
  const progress = new ProgressReporter(
    () => ({
      total: input.lines.length,
      done: runner.stats.written,
      failed: runner.stats.failed,
      inFlight: runner.stats.inFlight,
      finishedThisRun: runner.stats.finishedThisRun,
    }),
    process.stderr,
    { intervalMs },
  );

  const stop = new AbortController();
  // Every request in flight listens to this one signal.
  setMaxListeners(0, stop.signal);
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) process.exit(130);
    stderr(`\n${signal}: stopping; the output and ${statePath(out)} are saved (Ctrl-C again to quit at once)`);
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const started = Date.now();
  let complete = false;
  let fatal: Error | null = null;
  if (!values.quiet) progress.start();
  try {
    complete = state.done || (await runner.run(stop.signal));
  } catch (err) {
    fatal = err as Error;
  } finally {
    if (!values.quiet) progress.stop();
    closeSync(fd);
    sync(runner.stats, state);
    state.done = complete;
    saveState(out, state);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const counts = `${state.written}/${state.total} lines written to ${out} (${state.succeeded} ok, ${state.failed} failed)`;
  if (fatal) {
    stderr(`error: ${fatal.message}\n${counts}. Run the same command again to resume.`);
    return 1;
  }
  if (!complete) {
    stderr(`interrupted: ${counts}. Run the same command again to resume.`);
    return 130;
  }
  const summary = {
    output: out,
    lines: state.total,
    succeeded: state.succeeded,
    failed: state.failed,
    runs: state.runs,
    /** This run only: jobs created, and jobs the server already had for a line's key. */
    jobs_submitted: runner.stats.submitted,
    jobs_reused: runner.stats.replayed,
    seconds: Math.round((Date.now() - started) / 100) / 10,
  };
  if (values.json) printJson(summary);
  else {
    const reuse = runner.stats.replayed > 0 ? `, ${runner.stats.replayed} already on the server` : '';
    stderr(`done: ${counts} in ${formatDuration(Date.now() - started)}; this run submitted ${runner.stats.submitted} jobs${reuse}`);
  }
  return 0;
}
