/**
 * Owns the batch progress display on stderr: on a terminal, one line redrawn in place (bar,
 * count, percent, rate, ETA, failures, in flight); otherwise a plain line every `intervalMs`
 * (logs and CI stay readable). The rate is measured over the last ten seconds of this run, so
 * lines recovered from an earlier run do not inflate it.
 */
import { formatDuration } from '../output.ts';

export interface ProgressFigures {
  total: number;
  /** Lines finished so far, this run and earlier ones. */
  done: number;
  failed: number;
  inFlight: number;
  /** Lines finished by this run: the rate's basis. */
  finishedThisRun: number;
}

const WINDOW_MS = 10_000;
const BAR = 24;

export class ProgressReporter {
  private readonly samples: Array<{ at: number; n: number }> = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly startedAt = Date.now();
  private drawn = false;

  constructor(
    private readonly read: () => ProgressFigures,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly options: { tty?: boolean; intervalMs?: number } = {},
  ) {}

  private get tty(): boolean {
    return this.options.tty ?? Boolean(this.stream.isTTY);
  }

  start(): void {
    this.timer = setInterval(() => this.draw(), this.tty ? 200 : (this.options.intervalMs ?? 5_000));
    this.timer.unref();
  }

  /** Lines per second over the last ten seconds (or since the start, in the first second). */
  rate(now = Date.now()): number {
    const n = this.read().finishedThisRun;
    this.samples.push({ at: now, n });
    while (this.samples.length > 1 && (this.samples[0] as { at: number }).at < now - WINDOW_MS) this.samples.shift();
    const oldest = this.samples[0] as { at: number; n: number };
    const base = now - oldest.at >= 1_000 ? oldest : { at: this.startedAt, n: 0 };
    const seconds = (now - base.at) / 1000;
    return seconds > 0 ? (n - base.n) / seconds : 0;
  }

  line(): string {
    const f = this.read();
    const rate = this.rate();
    const share = f.total > 0 ? f.done / f.total : 1;
    const remaining = f.total - f.done;
    const eta = remaining === 0 ? 'done' : rate > 0 ? formatDuration((remaining / rate) * 1000) : '--';
    const parts = [
      `${f.done}/${f.total}`,
      `${(share * 100).toFixed(1)}%`,
      `${rate.toFixed(1)}/s`,
      `ETA ${eta}`,
      `failed ${f.failed}`,
      `in flight ${f.inFlight}`,
    ];
    if (!this.tty) return `progress: ${parts.join('  ')}`;
    const filled = Math.round(share * BAR);
    return `[${'#'.repeat(filled)}${'-'.repeat(BAR - filled)}] ${parts.join('  ')}`;
  }

  draw(): void {
    if (this.tty) {
      this.stream.write(`\r\x1b[2K${this.line()}`);
      this.drawn = true;
    } else this.stream.write(`${this.line()}\n`);
  }

  /** Final draw, and the cursor back on a fresh line. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.draw();
    if (this.tty && this.drawn) this.stream.write('\n');
  }
}
