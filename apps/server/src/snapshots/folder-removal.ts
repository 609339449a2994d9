import fs, { type FileHandle } from 'node:fs/promises';
import nodePath from 'node:path';
import { DIR_FLAGS, fdPath, inside } from './descriptors';

/** Rounds of emptying a folder that keeps gaining entries before removal gives up. */
const MAX_ROUNDS = 5;

/**
 * Removes the folder at `absolutePath`, which must still be the folder `expected` describes, and
 * everything in it; false when it is gone or is another folder by now. Unlike fs.rm, which
 * looks every folder up by path again, each folder is opened inside its already opened parent
 * with O_NOFOLLOW and emptied through that descriptor: a folder swapped for a link meanwhile is
 * removed as a link, and nothing outside is ever listed or deleted. Nor is another file system
 * mounted inside (or on) the folder entered: that fails with EXDEV, its content left alone.
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
    // Prometheus makes snapshots on snapshot_dir's file system (they hard-link its blocks).
    if (stats.dev !== (await fs.stat(nodePath.dirname(absolutePath))).dev) throw mounted();
    await empty(root, stats.dev);
  } finally {
    await root.close();
  }
  // The folder's own path is snapshot_dir's: check once more that it still leads to this folder.
  const now = await fs.lstat(absolutePath).catch(() => undefined);
  if (!now?.isDirectory() || now.dev !== expected.dev || now.ino !== expected.ino) return false;
  await ignoreMissing(fs.rmdir(absolutePath));
  return true;
}

/** Removes everything in the folder open as `dir` (on device `dev`), never following a link or entering a mount. */
async function empty(dir: FileHandle, dev: number): Promise<void> {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const names = await fs.readdir(fdPath(dir), { encoding: 'buffer' });
    if (names.length === 0) return;
    for (const name of names) await removeEntry(dir, name, dev);
  }
  // Something keeps adding entries: the rmdir after this fails with ENOTEMPTY, which says so.
}

async function removeEntry(dir: FileHandle, name: Buffer, dev: number): Promise<void> {
  const path = inside(dir, name);
  const stats = await fs.lstat(path).catch((err) => (code(err) === 'ENOENT' ? undefined : Promise.reject(err)));
  if (!stats) return;
  if (!stats.isDirectory()) return ignoreMissing(fs.unlink(path));
  if (stats.dev !== dev) throw mounted();
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
    // Checked again on the open folder: one mounted between lstat and open is not entered either.
    if ((await child.stat()).dev !== dev) throw mounted();
    await empty(child, dev);
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

function mounted(): NodeJS.ErrnoException {
  return Object.assign(new Error('another file system is mounted inside the snapshot'), { code: 'EXDEV' });
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
