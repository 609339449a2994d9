import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BesideStaging } from './beside-staging';

const A = '01HAAAAAAAAAAAAAAAAAAAAAAA';
const B = '01HBBBBBBBBBBBBBBBBBBBBBBB';
let parent: string;
let to: string;

beforeEach(async () => {
  parent = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-beside-'));
  to = path.join(parent, 'data');
});

afterEach(async () => {
  await fs.rm(parent, { recursive: true, force: true });
});

const body = (text: string) => Readable.from([Buffer.from(text)]);
const open = async () => {
  const staging = await BesideStaging.open(to);
  if ('reason' in staging) throw new Error(staging.reason);
  return staging;
};

describe('BesideStaging', () => {
  it('writes blocks beside TSDB_DIR and renames them in only on place(), with their times', async () => {
    const staging = await open();
    await staging.write(A, 'index', body('i'), 1_700_000_000_000);
    await staging.write(A, 'chunks/000001', body('c'), 1_700_000_000_000);
    staging.written(A);
    expect(await fs.readdir(parent)).toEqual([path.basename(staging.dir)]);
    expect(path.basename(staging.dir)).toMatch(new RegExp(`^\\.prombackup-restore-${process.pid}-[0-9a-f]{8}-data$`));
    await staging.place([A]);
    expect(await fs.readdir(to)).toEqual([A]);
    expect((await fs.stat(path.join(to, A, 'index'))).mtimeMs).toBe(1_700_000_000_000);
    expect(staging.placed).toEqual([A]);
    await staging.discard();
    expect(await fs.readdir(parent)).toEqual(['data']);
  });

  it('never writes or places a dropped block, never replaces a name that appeared, and discard leaves nothing beside', async () => {
    const staging = await open();
    staging.drop(B);
    await staging.write(B, 'index', body('i'), 0);
    expect(staging.has(B)).toBe(false);
    await expect(staging.place([B])).rejects.toThrow(`block ${B} was not extracted`);
    await staging.write(A, 'index', body('i'), 0);
    await fs.mkdir(path.join(to, A), { recursive: true });
    await expect(staging.place([A])).rejects.toThrow(/appeared while restoring/);
    expect(await fs.readdir(path.join(to, A))).toEqual([]);
    await staging.discard();
    expect(await fs.readdir(parent)).toEqual(['data']);
  });

  it('says why there can be no staging folder when the parent is missing', async () => {
    to = path.join(parent, 'no', 'data');
    expect(await BesideStaging.open(to)).toEqual({ reason: expect.stringMatching(/cannot write beside it in .*\/no \(ENOENT\)/) });
  });

  it('removes the staging folders of restores into the same TSDB_DIR whose process is gone, and only those', async () => {
    const dead = `.prombackup-restore-999999999-abcdef12-data`;
    const alive = `.prombackup-restore-${process.ppid}-abcdef12-data`;
    const other = `.prombackup-restore-999999999-abcdef12-elsewhere`;
    for (const name of [dead, alive, other]) await fs.mkdir(path.join(parent, name));
    expect(await BesideStaging.removeStale(to)).toEqual([dead]);
    expect((await fs.readdir(parent)).sort()).toEqual([alive, other].sort());
  });
});
