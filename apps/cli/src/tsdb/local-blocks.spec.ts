import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { blockDifference, blockHashes, readTsdbBlocks } from './local-blocks';

const A = '01HAAAAAAAAAAAAAAAAAAAAAAA';
const B = '01HBBBBBBBBBBBBBBBBBBBBBBB';
let dir: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-tsdb-blocks-'));
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('readTsdbBlocks', () => {
  it("reads each block folder's files, meta.json and hashes; a ULID name that is not a folder is set apart", async () => {
    await fs.mkdir(path.join(dir, A, 'chunks'), { recursive: true });
    await fs.writeFile(path.join(dir, A, 'meta.json'), JSON.stringify({ ulid: A, minTime: 1, maxTime: 2 }));
    await fs.writeFile(path.join(dir, A, 'chunks', '000001'), 'abc');
    await fs.symlink('/etc/passwd', path.join(dir, A, 'index'));
    await fs.writeFile(path.join(dir, B), 'a file');
    const { blocks, notFolders } = await readTsdbBlocks(dir);
    expect(notFolders).toEqual([B]);
    const block = blocks.get(A)!;
    expect(block).toMatchObject({ dir: path.join(dir, A), odd: ['index'], meta: { ulid: A, minTime: 1, maxTime: 2 } });
    expect(block.files.map((f) => f.path)).toEqual(['chunks/000001', 'meta.json']);
    const hashes = await blockHashes(block);
    expect(hashes.get('index')).toBe('not a regular file');
    expect(blockDifference(hashes, new Map([...hashes].filter(([p]) => p !== 'index')))).toBe('the existing block has index, the backup does not');
  });

  it('has no blocks in a folder that does not exist, and none with a meta.json that does not parse', async () => {
    expect((await readTsdbBlocks(path.join(dir, 'missing'))).blocks.size).toBe(0);
    await fs.mkdir(path.join(dir, A));
    await fs.writeFile(path.join(dir, A, 'meta.json'), '{');
    expect((await readTsdbBlocks(dir)).blocks.get(A)).toMatchObject({ meta: undefined, metaUnreadable: true });
    await fs.rm(path.join(dir, A, 'meta.json'));
    expect((await readTsdbBlocks(dir)).blocks.get(A)).toMatchObject({ meta: undefined, metaUnreadable: false });
  });
});
