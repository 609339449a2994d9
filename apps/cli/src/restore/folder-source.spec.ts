import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ArchiveError } from '../tsdb';
import { BlockStaging } from './block-staging';
import { FolderSource } from './folder-source';

const A = '01HAAAAAAAAAAAAAAAAAAAAAAA';
const B = '01HBBBBBBBBBBBBBBBBBBBBBBB';
let root: string;
let source: string;

async function plant(ulid: string): Promise<void> {
  await fs.mkdir(path.join(source, ulid, 'chunks'), { recursive: true });
  await fs.writeFile(path.join(source, ulid, 'chunks', '000001'), 'c');
  await fs.writeFile(path.join(source, ulid, 'index'), 'i');
  await fs.writeFile(path.join(source, ulid, 'meta.json'), JSON.stringify({ ulid, minTime: 0, maxTime: 1 }));
}

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-folder-source-'));
  source = path.join(root, 'sync');
  await plant(A);
  await plant(B);
});
afterEach(async () => {
  vi.restoreAllMocks();
  await fs.rm(root, { recursive: true, force: true });
});

describe('FolderSource when the folder changes under it', () => {
  it('a block that vanishes while the folder is listed: an ArchiveError naming it, nothing restored', async () => {
    const readdir = fs.readdir.bind(fs);
    vi.spyOn(fs, 'readdir').mockImplementation((async (where: string, options: unknown) => {
      if (where === path.join(source, B)) await fs.rm(where, { recursive: true });
      return readdir(where, options as never);
    }) as never);
    const err = await new FolderSource(source).list(new Set(), false, new AbortController().signal).then(() => undefined, (e: Error) => e);
    expect(err).toBeInstanceOf(ArchiveError);
    expect(err?.message).toBe(`${path.join(source, B)} vanished while restore read ${source} (another program is changing it); nothing was restored`);
  });

  it('a file that vanishes between the check and the copy: the block is not put in place, and the error says so', async () => {
    const folder = new FolderSource(source);
    const { listing } = await folder.list(new Set(), false, new AbortController().signal);
    await fs.rm(path.join(source, B, 'index'));
    const to = path.join(root, 'tsdb');
    await fs.mkdir(to);
    const staging = new BlockStaging(to);
    const err = await folder.copy(listing, new Set([A, B]), staging, new AbortController().signal).then(() => undefined, (e: Error) => e);
    await staging.discard();
    expect(err?.message).toBe(`${path.join(source, B, 'index')} vanished since it was checked; nothing more is restored from ${source}`);
    expect((await fs.readdir(to)).filter((n) => !n.startsWith('.'))).toEqual([A]);
  });
});
