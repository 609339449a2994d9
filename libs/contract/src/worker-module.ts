import path from 'node:path';

/** Where a worker thread's module lies, and the Node options its thread needs to load it. */
export interface WorkerModule {
  filename: string;
  execArgv?: string[];
}

/**
 * The worker module `name` (say 'sha256.worker') beside the module `caller` (its __filename),
 * with the caller's own extension: `.js` in the build, `.ts` when tests run the sources. Node
 * strips a `.ts` module's types by itself from 22.18 and 23.6; before that its thread is told to.
 */
export function workerModule(caller: string, name: string): WorkerModule {
  const extension = path.extname(caller);
  const filename = path.join(path.dirname(caller), name + extension);
  if (extension !== '.ts' || process.features.typescript) return { filename };
  return { filename, execArgv: ['--experimental-strip-types', '--no-warnings=ExperimentalWarning'] };
}
