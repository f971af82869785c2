/**
 * Preloaded (node --import) into every process processes.ts starts: if the test process that
 * started it goes away, even by SIGKILL, this process kills itself at once, so a failed or killed
 * run never leaves an API or a worker behind.
 */
const VARIABLE = 'TEST_PARENT_PID';
const parent = Number(process.env[VARIABLE]);
if (Number.isInteger(parent) && parent > 0) {
  setInterval(() => {
    if (process.ppid === parent) return;
    process.stderr.write(`orphan-guard: parent ${parent} is gone (ppid now ${process.ppid}); killing ${process.pid}\n`);
    process.kill(process.pid, 'SIGKILL');
  }, 500).unref();
}
