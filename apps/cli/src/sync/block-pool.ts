/**
 * Runs `work` on each of `items`, at most `parallel` at once, until one fails or `stopped()`
 * says so: the first failure stops new work, and one under way beside it may still finish.
 * Resolves to that first failure, if any (both syncs, to a folder and to a bucket, use it).
 */
export async function runBlockPool<T>(items: readonly T[], parallel: number, stopped: () => boolean, work: (item: T) => Promise<void>): Promise<Error | undefined> {
  const queue = [...items];
  let failure: Error | undefined;
  const worker = async () => {
    while (queue.length > 0 && !failure && !stopped()) {
      const item = queue.shift()!;
      try {
        await work(item);
      } catch (err) {
        failure ??= err as Error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, queue.length) }, worker));
  return failure;
}
