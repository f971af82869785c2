/**
 * Owns running the lines of a batch: up to `concurrency` lines in flight (submit with the line's
 * idempotency key, then long-poll the job to its end), never more than `window` lines ahead of
 * the output, and results written strictly in input order as soon as the line at the head is
 * done. A line's own failure (the job failed, the API refused it) becomes its output line; an
 * API that cannot be reached, after retries, stops the run, which a rerun resumes.
 */
import { writeSync } from 'node:fs';
import { ApiError, type SwitchyardClient } from '../client.ts';
import type { BatchLine } from './input.ts';
import { fromInvalid, fromJob, fromLost, fromRejection, isSuccess, type OutputLine } from './output-line.ts';

export interface RunnerStats {
  /** Lines in the output (including those recovered from earlier runs). */
  written: number;
  succeeded: number;
  failed: number;
  /** Lines finished in this run (written or waiting for an earlier line). */
  finishedThisRun: number;
  inFlight: number;
  submitted: number;
  replayed: number;
}

export interface RunnerOptions {
  concurrency: number;
  /** How far ahead of the output head lines may start. Default max(4 x concurrency, 256). */
  window?: number;
  /** Called after each write to the output (for the state file). */
  onWrite?: (stats: RunnerStats) => void;
}

export class BatchRunner {
  readonly stats: RunnerStats;
  private readonly done = new Map<number, OutputLine>();
  private next: number;
  private fatal: Error | null = null;

  constructor(
    private readonly client: SwitchyardClient,
    private readonly lines: BatchLine[],
    private readonly outFd: number,
    start: { written: number; succeeded: number; failed: number },
    private readonly options: RunnerOptions,
  ) {
    this.next = start.written;
    this.stats = { ...start, finishedThisRun: 0, inFlight: 0, submitted: 0, replayed: 0 };
  }

  /** Resolves when every line is written (true), or false when `signal` stopped the run first. */
  async run(signal: AbortSignal): Promise<boolean> {
    const window = this.options.window ?? Math.max(this.options.concurrency * 4, 256);
    await new Promise<void>((resolve) => {
      const pump = () => {
        if (this.fatal || signal.aborted || this.stats.written >= this.lines.length) {
          resolve();
          return;
        }
        while (
          this.stats.inFlight < this.options.concurrency &&
          this.next < this.lines.length &&
          this.next < this.stats.written + window &&
          !signal.aborted
        ) {
          const line = this.lines[this.next++] as BatchLine;
          this.stats.inFlight += 1;
          this.process(line, signal)
            .then(
              (result) => {
                this.stats.finishedThisRun += 1;
                this.done.set(line.index, result);
                this.flush();
              },
              (err: Error) => {
                if (!signal.aborted) this.fatal ??= err;
              },
            )
            .finally(() => {
              this.stats.inFlight -= 1;
              pump();
            });
        }
      };
      signal.addEventListener('abort', () => resolve(), { once: true });
      pump();
    });
    if (this.fatal) throw this.fatal;
    return this.stats.written >= this.lines.length;
  }

  /** Writes every finished line at the head of the output, in order. */
  private flush(): void {
    let text = '';
    for (let result = this.done.get(this.stats.written); result; result = this.done.get(this.stats.written)) {
      this.done.delete(this.stats.written);
      text += `${JSON.stringify(result)}\n`;
      this.stats.written += 1;
      if (isSuccess(result)) this.stats.succeeded += 1;
      else this.stats.failed += 1;
    }
    if (!text) return;
    writeSync(this.outFd, text);
    this.options.onWrite?.(this.stats);
  }

  private async process(line: BatchLine, signal: AbortSignal): Promise<OutputLine> {
    if (!line.request) return fromInvalid(line, line.invalid ?? 'invalid line');
    let id: string;
    try {
      const submitted = await this.client.submit(line.request, line.idempotencyKey, signal);
      id = submitted.id;
      if (submitted.replayed) this.stats.replayed += 1;
      else this.stats.submitted += 1;
    } catch (err) {
      // The API refused this line for good (400, 413...): that is the line's answer.
      if (err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 429 && err.status !== 401) {
        return fromRejection(line, err.status, err.body);
      }
      throw err;
    }
    try {
      return fromJob(line, await this.client.waitFinal(id, signal));
    } catch (err) {
      // Gone between submit and read: removed by retention, or deleted by an operator.
      if (err instanceof ApiError && err.status === 404) return fromLost(line, id);
      throw err;
    }
  }
}
