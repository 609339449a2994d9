import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { removeFolder } from './folder-removal';

describe('removeFolder', () => {
  let tmp: string;
  let folder: string;
  let outside: string;

  beforeEach(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'prombackup-remove-'));
    folder = path.join(tmp, 'snapshots', '20200101T000000Z-old');
    outside = path.join(tmp, 'live');
    mkdirSync(path.join(folder, 'block', 'chunks'), { recursive: true });
    writeFileSync(path.join(folder, 'block', 'chunks', '000001'), 'snapshot');
    writeFileSync(path.join(folder, 'block', 'index'), 'snapshot');
    mkdirSync(path.join(outside, 'chunks'), { recursive: true });
    for (const file of ['index', 'meta.json', 'chunks/000001']) writeFileSync(path.join(outside, file), 'live data');
  });

  afterEach(() => {
    vi.restoreAllMocks();
    rmSync(tmp, { recursive: true, force: true });
  });

  const outsideFiles = () => readdirSync(outside, { recursive: true }).map(String).sort();
  const expectOutsideIntact = () => expect(outsideFiles()).toEqual(['chunks', 'chunks/000001', 'index', 'meta.json']);

  it('removes the folder and everything in it', async () => {
    expect(await removeFolder(folder, lstatSync(folder))).toBe(true);
    expect(() => lstatSync(folder)).toThrow();
  });

  it('removes links inside as links, never what they point to', async () => {
    symlinkSync(outside, path.join(folder, 'block', 'to-live'));
    symlinkSync(path.join(outside, 'index'), path.join(folder, 'index-link'));
    expect(await removeFolder(folder, lstatSync(folder))).toBe(true);
    expectOutsideIntact();
  });

  /** Swaps the snapshot's block folder for a link to `outside` the first time `call` is made on it. */
  function swapOn(call: 'open' | 'rmdir' | 'readdir') {
    const real = fs[call].bind(fs) as (...args: unknown[]) => Promise<unknown>;
    let swapped = false;
    vi.spyOn(fs, call).mockImplementation((async (...args: unknown[]) => {
      const target = String(args[0]);
      if (!swapped && target.endsWith('/block')) {
        swapped = true;
        renameSync(path.join(folder, 'block'), path.join(tmp, 'moved-block'));
        symlinkSync(outside, path.join(folder, 'block'));
      }
      return real(...args);
    }) as never);
  }

  it.each(['open', 'rmdir'] as const)('never enters or empties the outside when a folder becomes a link just before %s', async (call) => {
    swapOn(call);
    expect(await removeFolder(folder, lstatSync(folder))).toBe(true);
    expectOutsideIntact();
    expect(() => lstatSync(folder)).toThrow();
  });

  it('empties a folder through its descriptor even when its path is swapped for a link while it is emptied', async () => {
    const real = fs.unlink.bind(fs);
    let swapped = false;
    vi.spyOn(fs, 'unlink').mockImplementation(async (p) => {
      if (!swapped) {
        swapped = true;
        renameSync(path.join(folder, 'block'), path.join(tmp, 'moved-block'));
        symlinkSync(outside, path.join(folder, 'block'));
      }
      return real(p);
    });
    await removeFolder(folder, lstatSync(folder));
    expectOutsideIntact();
  });

  it('leaves alone a folder that is gone or is another folder by now', async () => {
    const stats = lstatSync(folder);
    expect(await removeFolder(path.join(tmp, 'missing'), stats)).toBe(false);
    renameSync(folder, path.join(tmp, 'elsewhere'));
    mkdirSync(folder);
    writeFileSync(path.join(folder, 'keep'), 'x');
    expect(await removeFolder(folder, stats)).toBe(false);
    expect(readdirSync(folder)).toEqual(['keep']);
  });

  it('leaves a link in place of the folder alone', async () => {
    const stats = lstatSync(folder);
    renameSync(folder, path.join(tmp, 'elsewhere'));
    symlinkSync(outside, folder);
    expect(await removeFolder(folder, stats)).toBe(false);
    expectOutsideIntact();
  });

  // As root (the tests' container), a tmpfs stands for a disk someone mounted there.
  it('never empties a file system mounted inside the folder: EXDEV, its files kept', async () => {
    const mountPoint = path.join(folder, 'block', 'mounted');
    mkdirSync(mountPoint);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint]);
    try {
      writeFileSync(path.join(mountPoint, 'precious'), 'not a snapshot file');
      await expect(removeFolder(folder, lstatSync(folder))).rejects.toMatchObject({ code: 'EXDEV' });
      expect(readdirSync(mountPoint)).toEqual(['precious']);
    } finally {
      execFileSync('umount', [mountPoint]);
    }
  });

  it('never empties a folder that is itself a mount point: EXDEV, its files kept', async () => {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', folder]);
    try {
      writeFileSync(path.join(folder, 'precious'), 'not a snapshot file');
      await expect(removeFolder(folder, lstatSync(folder))).rejects.toMatchObject({ code: 'EXDEV' });
      expect(readdirSync(folder)).toEqual(['precious']);
    } finally {
      execFileSync('umount', [folder]);
    }
  });
});
