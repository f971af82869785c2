/**
 * Preloaded (node --import) into every process processes.ts starts; active only with
 * CHAOS_GC_PROBE=1. On SIGUSR2 it runs a full garbage collection and prints the live heap as one
 * JSON line, {"chaos_heap":true,"t":epochMs,"heapUsed":bytes,"rss":bytes,"external":bytes}, so a
 * memory check compares what is really retained rather than garbage not yet collected.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const VARIABLE = 'CHAOS_GC_PROBE';
if (process.env[VARIABLE] === '1') {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  process.on('SIGUSR2', () => {
    gc();
    gc();
    const m = process.memoryUsage();
    process.stderr.write(
      `${JSON.stringify({ chaos_heap: true, t: Date.now(), heapUsed: m.heapUsed, rss: m.rss, external: m.external })}\n`,
    );
  });
}
