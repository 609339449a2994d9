import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BlockStaging, writeNewFile } from './block-staging';

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

/** `mib` MiB of varied bytes in 1 MiB chunks, then `fail` if given; `hash` gets every byte sent. */
function bigBody(mib: number, hash: ReturnType<typeof createHash>, fail?: Error): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < mib; i++) {
        const chunk = Buffer.alloc(1024 * 1024, i % 251);
        hash.update(chunk);
        yield chunk;
      }
      if (fail) throw fail;
    })(),
  );
}

describe('writeNewFile', () => {
  it('flushes a large file to disk while it is still being written, and writes it byte for byte', async () => {
    const handle = await fs.open(path.join(root, 'probe'), 'w');
    const datasync = vi.spyOn(Object.getPrototypeOf(handle) as { datasync(): Promise<void> }, 'datasync');
    await handle.close();
    try {
      const sent = createHash('sha256');
      await writeNewFile(path.join(root, 'big'), bigBody(80, sent));
      expect(datasync.mock.calls.length).toBeGreaterThanOrEqual(2);
      expect(createHash('sha256').update(await fs.readFile(path.join(root, 'big'))).digest('hex')).toBe(sent.digest('hex'));
      datasync.mockClear();
      await writeNewFile(path.join(root, 'scratch'), bigBody(80, createHash('sha256')), false);
      expect(datasync).not.toHaveBeenCalled();
    } finally {
      datasync.mockRestore();
    }
  });

  it('fails with the body\'s own error when the body breaks after a flush, and never replaces an existing file', async () => {
    await expect(writeNewFile(path.join(root, 'cut'), bigBody(40, createHash('sha256'), new Error('source went away')))).rejects.toThrow('source went away');
    await fs.writeFile(path.join(root, 'there'), 'kept');
    await expect(writeNewFile(path.join(root, 'there'), body('new'))).rejects.toThrow(/EEXIST/);
    expect(await fs.readFile(path.join(root, 'there'), 'utf8')).toBe('kept');
  });
});
