import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readLocalState } from './local-blocks';

const A = '01HAAAAAAAAAAAAAAAAAAAAAAA';
let dir: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-local-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('readLocalState', () => {
  it('reads ULID folders with their files, sizes and millisecond times (rounded down), and sync temporary folders', async () => {
    await fs.mkdir(path.join(dir, A, 'chunks'), { recursive: true });
    await fs.writeFile(path.join(dir, A, 'chunks', '000001'), 'abc');
    await fs.writeFile(path.join(dir, A, 'index'), 'index!');
    await fs.utimes(path.join(dir, A, 'index'), 1_700_000_000.1239, 1_700_000_000.1239);
    await fs.mkdir(path.join(dir, '.prombackup-tmp-1-abcd'));
    const state = await readLocalState(dir);
    expect(state.staleTemps).toEqual(['.prombackup-tmp-1-abcd']);
    const block = state.blocks.get(A)!;
    expect(block.files.map((f) => [f.path, f.size])).toEqual([
      ['chunks/000001', 3],
      ['index', 6],
    ]);
    expect(block.files[1].mtimeMs).toBe(1_700_000_000_123);
    expect(block.bytes).toBe(9);
    expect(block.odd).toEqual([]);
  });

  it('passes over anything that is not a ULID folder, and never follows a link', async () => {
    const outside = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-outside-'));
    try {
      await fs.writeFile(path.join(outside, 'secret'), 'x');
      await fs.symlink(outside, path.join(dir, '01HBBBBBBBBBBBBBBBBBBBBBBB'));
      await fs.writeFile(path.join(dir, '01HCCCCCCCCCCCCCCCCCCCCCCC'), 'a file');
      await fs.mkdir(path.join(dir, 'wal'));
      await fs.mkdir(path.join(dir, '01hlowercaseaaaaaaaaaaaaaa'));
      await fs.mkdir(path.join(dir, A));
      await fs.symlink(path.join(outside, 'secret'), path.join(dir, A, 'index'));
      const state = await readLocalState(dir);
      expect([...state.blocks.keys()]).toEqual([A]);
      expect(state.blocks.get(A)).toMatchObject({ files: [], odd: ['index'] });
    } finally {
      await fs.rm(outside, { recursive: true, force: true });
    }
  });
});
