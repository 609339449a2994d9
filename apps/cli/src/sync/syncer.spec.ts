import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { PrombackupClient } from '@prombackup/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Syncer } from './syncer';

// Another program (an operator, a cleanup job) changing DIR while a sync works on it.
const A = '01HAAAAAAAAAAAAAAAAAAAAAAA';
const B = '01HBBBBBBBBBBBBBBBBBBBBBBB';
let dir: string;

async function plant(ulid: string): Promise<void> {
  await fs.mkdir(path.join(dir, ulid, 'chunks'), { recursive: true });
  await fs.writeFile(path.join(dir, ulid, 'chunks', '000001'), 'c');
  await fs.writeFile(path.join(dir, ulid, 'index'), 'i');
  await fs.writeFile(path.join(dir, ulid, 'meta.json'), JSON.stringify({ ulid, minTime: 0, maxTime: 1 }));
}

// No block is downloaded in these cases, so no server is asked.
const syncer = () => new Syncer({} as PrombackupClient, dir, { format: 'tar', parallel: 1, keepRemoved: false });

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-syncer-'));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('Syncer when DIR changes under it', () => {
  it('a block folder that vanishes while DIR is read: an error naming it and saying DIR was not changed', async () => {
    await plant(A);
    await plant(B);
    const readdir = fs.readdir.bind(fs);
    // DIR is listed first; B goes before its own folder is read.
    vi.spyOn(fs, 'readdir').mockImplementation((async (where: string, options: unknown) => {
      if (where === path.join(dir, B)) await fs.rm(where, { recursive: true });
      return readdir(where, options as never);
    }) as never);
    const err = await syncer().plan([]).then(() => undefined, (e: Error) => e);
    expect(err?.message).toBe(`${path.join(dir, B)} vanished while sync read ${dir} (another program is changing it); nothing in ${dir} was changed by this sync`);
    expect(await fs.readdir(path.join(dir, A))).toEqual(['chunks', 'index', 'meta.json']);
  });

  it('a block to remove that another program deleted first: an error naming it and what DIR holds', async () => {
    await plant(A);
    await plant(B);
    const s = syncer();
    const plan = await s.plan([]);
    expect(plan.remove.map((r) => r.ulid)).toEqual([A, B]);
    await fs.rm(path.join(dir, B), { recursive: true });
    const err = await s.apply('snap', [], plan).then(() => undefined, (e: Error) => e);
    await s.removeWork();
    expect(err?.message).toBe(
      `block ${B}: ${path.join(dir, B)} vanished while sync ran (another program is changing ${dir}); ${dir} holds every block of the snapshot; of those it no longer has, the ones not yet removed stay; run sync again`,
    );
    expect((await fs.readdir(dir)).filter((n) => !n.startsWith('.'))).toEqual([]);
  });
});
