/**
 * zlib hands back every gzip member in a buffer of its own, and the objects around it live
 * long enough (a member takes tens of milliseconds) to reach V8's old generation. V8 then frees
 * those buffers only in a full collection, which it starts once some 64 MB of them have piled
 * up. Asking for a concurrent full collection after every 16 MB of dead member buffers keeps
 * that pile small; the marking runs beside the main thread and measured no slower.
 * It needs --expose-gc, which the server's #! line passes; without it this does nothing.
 */
const COLLECT_EVERY_BYTES = 16 * 1024 * 1024;

const collect = (globalThis as { gc?: (options: { type: 'major'; execution: 'async' }) => void }).gc;
let dead = 0;

/** Notes `bytes` of buffers that just died, and starts a collection once enough have. */
export function collectGarbageEvery(bytes: number): void {
  if (!collect) return;
  dead += bytes;
  if (dead < COLLECT_EVERY_BYTES) return;
  dead = 0;
  collect({ type: 'major', execution: 'async' });
}
