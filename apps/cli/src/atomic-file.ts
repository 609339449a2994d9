import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * A file written beside its target under a hidden temporary name, and put in place only by
 * commit(): a failure leaves nothing at the target path.
 */
export class AtomicFile {
  readonly tempPath: string;

  constructor(readonly target: string) {
    const dir = path.dirname(target);
    this.tempPath = path.join(dir, `.${path.basename(target)}.${randomBytes(4).toString('hex')}.partial`);
  }

  /** Flushes to disk and moves the file to its target; refuses to replace a file unless `overwrite`. */
  async commit(overwrite: boolean): Promise<void> {
    // The data must be on disk before the name says the backup is complete.
    const handle = await fs.open(this.tempPath, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (overwrite) {
      await fs.rename(this.tempPath, this.target);
      return;
    }
    try {
      // link() fails if the target exists, where rename() would silently replace it.
      await fs.link(this.tempPath, this.target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new Error(`${this.target} appeared while downloading; not overwriting it (use --force)`);
      }
      throw err;
    }
    await fs.unlink(this.tempPath);
  }

  /** Removes the temporary file; safe to call at any point, also after commit. */
  async discard(): Promise<void> {
    await fs.unlink(this.tempPath).catch(() => undefined);
  }
}

export async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch {
    return false;
  }
}
