/**
 * Owns a process's SIGTERM and SIGINT. Installed first thing, so a stop asked for while the process
 * is still starting (a worker is in the registry from its first heartbeat on) is remembered and
 * carried out once `onStop` is given, instead of Node's default death with exit code null. One
 * listener for the process's whole life: removing the last listener and adding another closes and
 * reopens Node's signal handle, and a signal landing in that hand-over was seen lost (the process
 * stayed up, idle, until SIGKILLed).
 */
export interface StopSignals {
  /** From now on a stop signal calls `shutdown`; one that came while starting calls it at once. */
  onStop(shutdown: (signal: string) => void): void;
}

export function catchStopSignals(): StopSignals {
  let askedWhileStarting: string | undefined;
  let handler: (signal: string) => void = (signal) => {
    askedWhileStarting ??= signal;
  };
  process.on('SIGTERM', () => handler('SIGTERM'));
  process.on('SIGINT', () => handler('SIGINT'));
  return {
    onStop(shutdown) {
      handler = shutdown;
      if (askedWhileStarting) shutdown(askedWhileStarting);
    },
  };
}
