import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AtomicFile, type FileOps, KeptBackupError } from './atomic-file';

const DATA = 'verified backup bytes';
const NO_LINK = () => Promise.reject(Object.assign(new Error("EPERM: operation not permitted, link 'a' -> 'b'"), { code: 'EPERM' }));

let dir: string;
let target: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-atomic-'));
  target = path.join(dir, 'backup.tar');
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** Node's calls, with some replaced. */
function ops(replaced: Partial<FileOps>): FileOps {
  return { open: fs.open, link: fs.link, rename: fs.rename, unlink: fs.unlink, lstat: fs.lstat, ...replaced };
}

/** An AtomicFile whose temporary file holds DATA, as after a verified download. */
async function downloaded(fileOps?: FileOps): Promise<AtomicFile> {
  const file = new AtomicFile(target, fileOps);
  await file.create();
  await fs.writeFile(file.tempPath, DATA);
  return file;
}

const isExclusiveCreate = (flags: unknown) => typeof flags === 'number' && (flags & constants.O_EXCL) !== 0;

async function commitFailure(file: AtomicFile): Promise<KeptBackupError> {
  const err = await file.commit(false).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KeptBackupError);
  return err as KeptBackupError;
}

describe('AtomicFile', () => {
  it('names its temporary file as a hidden partial of the target', () => {
    const file = new AtomicFile(target);
    expect(path.dirname(file.tempPath)).toBe(dir);
    expect(path.basename(file.tempPath)).toMatch(/^\.backup\.tar\.[A-Za-z0-9_-]+\.\d+-\d+\.[0-9a-f]{8}\.partial$/);
  });

  it('puts the file in place with a hard link and leaves nothing else', async () => {
    const file = await downloaded();
    await file.commit(false);
    await file.discard();
    expect(await fs.readFile(target, 'utf8')).toBe(DATA);
    expect(await fs.readdir(dir)).toEqual(['backup.tar']);
  });

  it('discards an uncommitted download', async () => {
    const file = await downloaded();
    await file.discard();
    expect(await fs.readdir(dir)).toEqual([]);
  });

  it('without hard links (EPERM) still places the file, through an exclusive reservation', async () => {
    const file = await downloaded(ops({ link: NO_LINK }));
    await file.commit(false);
    await file.discard();
    expect(await fs.readFile(target, 'utf8')).toBe(DATA);
    expect(await fs.readdir(dir)).toEqual(['backup.tar']);
  });

  it('does not overwrite a target that appears before the reservation, and keeps the verified data', async () => {
    const open: FileOps['open'] = async (p, flags, mode) => {
      if (p === target && isExclusiveCreate(flags)) await fs.writeFile(target, 'someone else');
      return fs.open(p, flags, mode);
    };
    const file = await downloaded(ops({ link: NO_LINK, open }));
    const err = await commitFailure(file);
    await file.discard();
    expect(err.message).toContain(`${target} appeared while downloading; not overwriting it`);
    expect(await fs.readFile(target, 'utf8')).toBe('someone else');
    expect(err.message).toContain(err.keptAt);
    expect(err.keptAt).not.toMatch(/\.partial$/);
    expect(await fs.readFile(err.keptAt, 'utf8')).toBe(DATA);
  });

  it('does not overwrite a file swapped in for its reservation, and keeps the verified data', async () => {
    const lstat = (async (p: string) => {
      // Someone replaces the empty reservation just before it is checked.
      if (p === target) {
        await fs.unlink(target);
        await fs.writeFile(target, 'someone else');
      }
      return fs.lstat(p);
    }) as FileOps['lstat'];
    const file = await downloaded(ops({ link: NO_LINK, lstat }));
    const err = await commitFailure(file);
    await file.discard();
    expect(await fs.readFile(target, 'utf8')).toBe('someone else');
    expect(await fs.readFile(err.keptAt, 'utf8')).toBe(DATA);
  });

  it('keeps the verified data when the target appeared during the download (link EEXIST)', async () => {
    const file = await downloaded();
    await fs.writeFile(target, 'someone else');
    const err = await commitFailure(file);
    await file.discard();
    expect(await fs.readFile(target, 'utf8')).toBe('someone else');
    expect(await fs.readFile(err.keptAt, 'utf8')).toBe(DATA);
  });

  it('when every way of placing it fails, keeps the verified data under a non-partial name and says where', async () => {
    const open: FileOps['open'] = async (p, flags, mode) => {
      if (p === target) throw Object.assign(new Error(`EACCES: permission denied, open '${target}'`), { code: 'EACCES' });
      return fs.open(p, flags, mode);
    };
    const file = await downloaded(ops({ link: NO_LINK, open }));
    const err = await commitFailure(file);
    await file.discard();
    expect(err.message).toContain('EPERM');
    expect(err.message).toContain('EACCES');
    expect(err.message).toContain(`the verified backup is kept at ${err.keptAt}`);
    expect(path.dirname(err.keptAt)).toBe(dir);
    expect(err.keptAt).not.toMatch(/\.partial$/);
    expect(await fs.readFile(err.keptAt, 'utf8')).toBe(DATA);
    await expect(fs.stat(target)).rejects.toThrow();
  });

  it('takes back its empty reservation when the rename onto it fails, and keeps the data', async () => {
    let renames = 0;
    const rename: FileOps['rename'] = async (from, to) => {
      if (to === target && renames++ === 0) throw Object.assign(new Error('EACCES: permission denied, rename'), { code: 'EACCES' });
      return fs.rename(from, to);
    };
    const file = await downloaded(ops({ link: NO_LINK, rename }));
    const err = await commitFailure(file);
    await file.discard();
    await expect(fs.stat(target)).rejects.toThrow();
    expect(await fs.readFile(err.keptAt, 'utf8')).toBe(DATA);
  });

  it('when even renaming it aside fails, names the temporary file that still holds the data', async () => {
    const rename: FileOps['rename'] = () => Promise.reject(Object.assign(new Error('EIO: i/o error, rename'), { code: 'EIO' }));
    const file = await downloaded(ops({ link: NO_LINK, rename }));
    const err = await commitFailure(file);
    await file.discard();
    expect(err.keptAt).toBe(file.tempPath);
    expect(err.message).toContain(`the verified backup is still at ${file.tempPath}`);
    expect(await fs.readFile(file.tempPath, 'utf8')).toBe(DATA);
  });
});
