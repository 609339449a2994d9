import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type PartialOwner, currentOwner, parsePartialName, partialName } from './partial-name';
import { FOREIGN_STALE_MS, removeStalePartials } from './stale-partials';

let dir: string;
let target: string;
const me = currentOwner();

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-stale-'));
  target = path.join(dir, 'backup.tar');
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** A partial of `base` owned by `owner`, last written `ageMs` ago. */
async function partial(owner: PartialOwner, ageMs = 0, base = 'backup.tar'): Promise<string> {
  const file = path.join(dir, partialName(base, owner));
  await fs.writeFile(file, 'partial data');
  const when = new Date(Date.now() - ageMs);
  await fs.utimes(file, when, when);
  return file;
}

/** The pid of a process that has ended. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

const present = async (file: string) => fs.stat(file).then(() => true, () => false);

describe('partial names', () => {
  it('parse back to their owner, for their own target only', () => {
    const name = partialName('a.tar', { host: 'pod-7', pid: 42, pidNamespace: '4026531836' });
    expect(parsePartialName(name, 'a.tar')).toEqual({ host: 'pod-7', pid: 42, pidNamespace: '4026531836' });
    expect(parsePartialName(name, 'a')).toBeUndefined();
    expect(parsePartialName(name, 'a.tar.pod-7')).toBeUndefined();
    expect(parsePartialName('.a.tar.deadbeef.partial', 'a.tar')).toBeUndefined();
    expect(parsePartialName('a.tar', 'a.tar')).toBeUndefined();
  });

  it('carry no dots from the host name', () => {
    expect(me.host).toMatch(/^[A-Za-z0-9_-]+$/);
  });
});

describe('removeStalePartials', () => {
  it("removes a partial of this host whose CLI is gone (kill -9)", async () => {
    const file = await partial({ ...me, pid: await deadPid() });
    expect(await removeStalePartials(target)).toEqual([file]);
    expect(await present(file)).toBe(false);
  });

  it('keeps a partial that its live owner holds open', async () => {
    const file = await partial(me);
    const handle = await fs.open(file, 'r');
    try {
      expect(await removeStalePartials(target)).toEqual([]);
      expect(await present(file)).toBe(true);
    } finally {
      await handle.close();
    }
  });

  it('removes a partial whose pid now belongs to a process that does not hold it', async () => {
    const file = await partial(me);
    expect(await removeStalePartials(target)).toEqual([file]);
  });

  it('judges a partial from another host or pid namespace by its age only', async () => {
    const recent = await partial({ ...me, host: 'other-pod' }, FOREIGN_STALE_MS - 60_000);
    const old = await partial({ ...me, host: 'other-pod' }, FOREIGN_STALE_MS + 60_000);
    const otherNamespaceRecent = await partial({ ...me, pidNamespace: '1', pid: await deadPid() }, 1000);
    expect(await removeStalePartials(target)).toEqual([old]);
    expect(await present(recent)).toBe(true);
    expect(await present(otherNamespaceRecent)).toBe(true);
  });

  it('never touches anything that is not a partial of this very target', async () => {
    const gone = { ...me, pid: await deadPid() };
    const keep = [
      'backup.tar',
      'backup.tar.1a2b3c4d.verified',
      '.backup.tar.deadbeef.partial',
      'backup.tar.partial',
      path.basename(await partial(gone, 0, 'backup.tar.x')),
      path.basename(await partial(gone, 0, 'backup')),
    ];
    for (const name of keep.slice(0, 4)) await fs.writeFile(path.join(dir, name), 'x');
    // Named like a stale partial, but a folder and a symbolic link.
    const folder = partialName('backup.tar', gone);
    await fs.mkdir(path.join(dir, folder));
    const link = partialName('backup.tar', gone);
    await fs.symlink(path.join(dir, 'backup.tar'), path.join(dir, link));
    expect(await removeStalePartials(target)).toEqual([]);
    expect((await fs.readdir(dir)).sort()).toEqual([...keep, folder, link].sort());
  });

  it("with a folder as the output, also removes stale partials of other snapshots' archives there, and nothing else", async () => {
    const gone = { ...me, pid: await deadPid() };
    const earlier = await partial(gone, 0, '20240101T000000Z-0123abcd.tar.zst');
    const held = await partial(me, 0, '20240101T010000Z-4567ef.tar.gz');
    const notAnArchive = await partial(gone, 0, 'notes.txt');
    const handle = await fs.open(held, 'r');
    try {
      const next = path.join(dir, '20240102T000000Z-89ab.tar');
      expect(await removeStalePartials(next)).toEqual([]);
      expect(await removeStalePartials(next, { anyArchive: true })).toEqual([earlier]);
      expect(await present(held)).toBe(true);
      expect(await present(notAnArchive)).toBe(true);
    } finally {
      await handle.close();
    }
  });

  it('finds nothing in a folder that does not exist', async () => {
    expect(await removeStalePartials(path.join(dir, 'missing', 'backup.tar'))).toEqual([]);
  });
});
