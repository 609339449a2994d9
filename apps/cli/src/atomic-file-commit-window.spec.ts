// A verified file is safe from the moment commit() begins, also while it is flushed to disk:
// fsync of a multi-GB archive on a slow or network disk takes seconds to minutes, and a second
// Ctrl-C or the interrupt clean-up's time limit calls discardNow() meanwhile. The archive's
// SHA-256 had already matched the server's, and a verified backup is never deleted.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AtomicFile, type FileOps } from './atomic-file';

const DATA = 'verified backup bytes';
const SYNC_MS = 300;

let dir: string;
let target: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-atomic-window-'));
  target = path.join(dir, 'backup.tar');
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** Node's calls, except that fsync takes SYNC_MS, as on a slow disk with a large file. */
const slowSync: FileOps = {
  open: (async (...args: Parameters<typeof fs.open>) => {
    const handle = await fs.open(...args);
    const sync = handle.sync.bind(handle);
    handle.sync = async () => {
      await new Promise((resolve) => setTimeout(resolve, SYNC_MS));
      return sync();
    };
    return handle;
  }) as typeof fs.open,
  link: fs.link,
  rename: fs.rename,
  unlink: fs.unlink,
  lstat: fs.lstat,
};

describe('AtomicFile while commit() flushes the verified file to disk', () => {
  it.each([
    ['discardNow() (a second signal, or the interrupt clean-up timing out)', (file: AtomicFile) => file.discardNow()],
    ['discard()', (file: AtomicFile) => file.discard()],
  ])('%s does not delete it: the backup still reaches its target', async (_, discard) => {
    const file = new AtomicFile(target, slowSync);
    await file.create();
    await fs.writeFile(file.tempPath, DATA);
    const committing = file.commit(false).then(
      () => undefined,
      (err: Error) => err,
    );
    await new Promise((resolve) => setTimeout(resolve, SYNC_MS / 3));
    await discard(file);
    const failure = await committing;
    expect(failure?.message).toBeUndefined();
    expect(await fs.readFile(target, 'utf8')).toBe(DATA);
  });
});
