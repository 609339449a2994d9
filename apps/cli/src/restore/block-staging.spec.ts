import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlockStaging } from './block-staging';

const A = '01HAAAAAAAAAAAAAAAAAAAAAAA';
const B = '01HBBBBBBBBBBBBBBBBBBBBBBB';
let root: string;

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-staging-'));
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

const body = (text: string) => Readable.from([Buffer.from(text)]);

describe('BlockStaging', () => {
  it('puts a block in place under its ULID only after its last file, with the files\' times', async () => {
    const staging = new BlockStaging(root);
    await staging.write(A, 2, 'index', body('i'), 1_700_000_000_000);
    expect(await fs.readdir(root)).toEqual([expect.stringMatching(/^\.prombackup-restore-01HAAAAAAAAAAAAAAAAAAAAAAA-\d+-[0-9a-f]+$/)]);
    await staging.write(A, 2, 'chunks/000001', body('c'), 1_700_000_000_000);
    await staging.settle();
    expect(await fs.readdir(root)).toEqual([A]);
    expect((await fs.stat(path.join(root, A, 'index'))).mtimeMs).toBe(1_700_000_000_000);
    expect(staging.placed).toEqual([A]);
  });

  it('never replaces a folder that appeared under the ULID, and discard removes what is unfinished', async () => {
    await fs.mkdir(path.join(root, A));
    const staging = new BlockStaging(root);
    await staging.write(A, 1, 'index', body('i'), 0);
    await staging.write(B, 2, 'index', body('i'), 0);
    await expect(staging.settle()).rejects.toThrow(/appeared while restoring/);
    await staging.discard();
    expect(await fs.readdir(root)).toEqual([A]);
    expect(await fs.readdir(path.join(root, A))).toEqual([]);
  });

  it('reports a failure of a block already renamed into place (verify --deep checks it there)', async () => {
    const staging = new BlockStaging(root, false, async (ulid) => {
      await new Promise((r) => setTimeout(r, 50));
      if (ulid === A) throw new Error('damaged');
    });
    await staging.write(A, 1, 'index', body('i'), 0);
    await staging.write(B, 1, 'index', body('i'), 0);
    await expect(staging.settle()).rejects.toThrow('damaged');
  });

  it("copies a sync folder's file with the mode a written file gets, never the source's (setuid, world-writable, owner-only)", async () => {
    const source = path.join(root, 'source');
    await fs.mkdir(source);
    for (const [name, mode] of [['index', 0o4755], ['meta.json', 0o700], ['chunks-000001', 0o777]] as const) {
      await fs.writeFile(path.join(source, name), 'x');
      await fs.chmod(path.join(source, name), mode);
    }
    const to = path.join(root, 'tsdb');
    await fs.mkdir(to);
    const staging = new BlockStaging(to);
    await staging.copy(A, 3, 'index', path.join(source, 'index'), 0);
    await staging.copy(A, 3, 'meta.json', path.join(source, 'meta.json'), 0);
    await staging.copy(A, 3, 'chunks/000001', path.join(source, 'chunks-000001'), 0);
    await staging.settle();
    for (const file of ['index', 'meta.json', 'chunks/000001']) expect((await fs.stat(path.join(to, A, file))).mode & 0o7777, file).toBe(0o644);
  });

  it('removes the temporary folders of restores whose process is gone, and only those', async () => {
    await fs.mkdir(path.join(root, `.prombackup-restore-${A}-999999999-abcd`));
    await fs.mkdir(path.join(root, `.prombackup-restore-${B}-${process.ppid}-abcd`));
    await fs.mkdir(path.join(root, '.other'));
    expect(await BlockStaging.removeStale(root)).toEqual([`.prombackup-restore-${A}-999999999-abcd`]);
    expect((await fs.readdir(root)).sort()).toEqual(['.other', `.prombackup-restore-${B}-${process.ppid}-abcd`]);
  });
});
