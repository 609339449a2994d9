import fs from 'node:fs';
import os from 'node:os';

/**
 * The nice value of threads that compress: below the event loop's, so that with every core busy
 * compressing, the thread that answers requests and health probes still gets the CPU first.
 */
export const COMPRESSION_NICE = 10;

/**
 * Starts libuv's thread pool (gzip members compress there, beside file reads) and lowers the
 * priority of its threads to COMPRESSION_NICE. Call it before anything else uses the pool: the
 * pool's threads are told apart as the ones that appear when it starts. Linux only (a thread's
 * nice value is per thread there); returns how many threads it lowered, best effort.
 */
export function lowerThreadPoolPriority(): number {
  if (process.platform !== 'linux') return 0;
  const before = new Set(fs.readdirSync('/proc/self/task'));
  // libuv starts every pool thread, and waits until they run, on the first request.
  fs.access('/', () => undefined);
  const started = fs.readdirSync('/proc/self/task').filter((thread) => !before.has(thread));
  let lowered = 0;
  for (const thread of started) {
    try {
      os.setPriority(Number(thread), COMPRESSION_NICE);
      lowered++;
    } catch {
      // A short-lived thread (not one of the pool's) may have ended since the listing (ESRCH), a /proc
      // from another pid namespace names threads this process cannot address (ESRCH), and some
      // sandboxes forbid it (EPERM): a lower priority is a nicety, never a reason not to start.
    }
  }
  return lowered;
}
