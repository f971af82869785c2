/**
 * Preloaded (node --import) into every process processes.ts starts: measures the process's own
 * event-loop delay (perf_hooks, native, 10 ms resolution) and prints it twice a second as one JSON
 * line, {"chaos_loop_delay":true,"t":epochMs,"max":ms,"p99":ms}. On a loaded machine a timer can
 * only fire as early as the event loop lets it; the tests use these figures to tell a system that
 * overruns from a process that was not given the CPU.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

const histogram = monitorEventLoopDelay({ resolution: 10 });
histogram.enable();
setInterval(() => {
  const max = Math.round(histogram.max / 1e6);
  const p99 = Math.round(histogram.percentile(99) / 1e6);
  histogram.reset();
  process.stderr.write(`${JSON.stringify({ chaos_loop_delay: true, t: Date.now(), max, p99 })}\n`);
}, 500).unref();
