import fs, { type FileHandle } from 'node:fs/promises';
import { DIR_FLAGS, fdPath, inside } from './descriptors';

/** Rounds of emptying a folder that keeps gaining entries before removal gives up. */
const MAX_ROUNDS = 5;

/**
 * Removes the folder at `absolutePath`, which must still be the folder `expected` describes, and
 * everything in it; false when it is gone or is another folder by now. Unlike fs.rm, which
 * looks every folder up by path again, each folder is opened inside its already opened parent
 * with O_NOFOLLOW and emptied through that descriptor: a folder swapped for a link meanwhile is
 * removed as a link, and nothing outside is ever listed or deleted.
 */
export async function removeFolder(absolutePath: string, expected: { dev: number; ino: number }): Promise<boolean> {
  let root: FileHandle;
  try {
    root = await fs.open(absolutePath, DIR_FLAGS);
  } catch (err) {
    if (['ENOENT', 'ENOTDIR', 'ELOOP'].includes(code(err))) return false;
    throw err;
  }
  try {
    const stats = await root.stat();
    if (stats.dev !== expected.dev || stats.ino !== expected.ino) return false;
    await empty(root);
  } finally {
    await root.close();
  }
  // The folder's own path is snapshot_dir's: check once more that it still leads to this folder.
  const now = await fs.lstat(absolutePath).catch(() => undefined);
  if (!now?.isDirectory() || now.dev !== expected.dev || now.ino !== expected.ino) return false;
  await ignoreMissing(fs.rmdir(absolutePath));
  return true;
}

/** Removes everything in the folder open as `dir`, never following a link. */
async function empty(dir: FileHandle): Promise<void> {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const names = await fs.readdir(fdPath(dir), { encoding: 'buffer' });
    if (names.length === 0) return;
    for (const name of names) await removeEntry(dir, name);
  }
  // Something keeps adding entries: the rmdir after this fails with ENOTEMPTY, which says so.
}

async function removeEntry(dir: FileHandle, name: Buffer): Promise<void> {
  const path = inside(dir, name);
  const stats = await fs.lstat(path).catch((err) => (code(err) === 'ENOENT' ? undefined : Promise.reject(err)));
  if (!stats) return;
  if (!stats.isDirectory()) return ignoreMissing(fs.unlink(path));
  let child: FileHandle;
  try {
    child = await fs.open(path, DIR_FLAGS);
  } catch (err) {
    // Swapped for a link or a file since lstat: remove that instead, never what it points to.
    if (code(err) === 'ELOOP' || code(err) === 'ENOTDIR') return ignoreMissing(fs.unlink(path));
    if (code(err) === 'ENOENT') return;
    throw err;
  }
  try {
    await empty(child);
  } finally {
    await child.close();
  }
  try {
    await fs.rmdir(path);
  } catch (err) {
    // Swapped for a link after it was emptied: the link goes, its target stays.
    if (code(err) === 'ENOTDIR') return ignoreMissing(fs.unlink(path));
    if (code(err) !== 'ENOENT') throw err;
  }
}

async function ignoreMissing(removal: Promise<void>): Promise<void> {
  try {
    await removal;
  } catch (err) {
    if (code(err) !== 'ENOENT') throw err;
  }
}

function code(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? '';
}
