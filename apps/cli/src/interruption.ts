import os from 'node:os';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/** How long cleaning up may take before the process leaves anyway (a hung network mount). */
const CLEANUP_MS = 10_000;

export interface InterruptHandlers {
  /** Cleans up after a stop by `signal` and returns the one line that says what was interrupted. */
  cleanUp(signal: NodeJS.Signals): Promise<string>;
  /** Quick synchronous cleanup for when there is no time for cleanUp (a second signal, a hang). */
  lastResort(): void;
}

/**
 * Until the returned function is called, SIGINT, SIGTERM and SIGHUP stop the process cleanly:
 * cleanUp() runs, its line goes to stderr, and the exit code is 128 + the signal's number
 * (130, 143, 129), as a shell reports a program killed by that signal. `onStop` is called at
 * once, so the interrupted work can stand aside rather than report its own failure.
 */
export function exitOnInterrupt(handlers: InterruptHandlers, onStop: (stopping: Promise<never>) => void): () => void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    const code = 128 + os.constants.signals[signal];
    if (stopping) {
      handlers.lastResort();
      process.exit(code);
    }
    stopping = true;
    onStop(
      new Promise<never>(() => {
        const timer = setTimeout(() => {
          handlers.lastResort();
          process.stderr.write(`prombackup: stopped by ${signal}; cleaning up took too long\n`);
          process.exit(code);
        }, CLEANUP_MS);
        handlers.cleanUp(signal).then(
          (line) => process.stderr.write(`prombackup: ${line}\n`),
          (err: Error) => process.stderr.write(`prombackup: stopped by ${signal}; cleaning up failed: ${err.message}\n`),
        ).finally(() => {
          clearTimeout(timer);
          process.exit(code);
        });
      }),
    );
  };
  for (const signal of SIGNALS) process.on(signal, stop);
  return () => {
    for (const signal of SIGNALS) process.off(signal, stop);
  };
}
