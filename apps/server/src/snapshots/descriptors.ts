import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/** Opens a folder itself, never a link to one. */
export const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/** /proc/self/fd/N: the open folder itself, whatever became of the path it was opened by. */
export function fdPath(dir: FileHandle): string {
  return `/proc/self/fd/${dir.fd}`;
}

/**
 * A path to `name` inside the folder open as `dir`. Only its last part is looked up by name, so
 * no folder swapped for a link along the way can lead elsewhere; calls that do not follow a
 * last part that is a link (lstat, unlink, rmdir, open with O_NOFOLLOW) stay inside `dir`.
 */
export function inside(dir: FileHandle, name: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${fdPath(dir)}/`), name]);
}
