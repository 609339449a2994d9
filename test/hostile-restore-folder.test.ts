// restore from a sync folder with traps in it: links, FIFOs, a huge meta.json, chunk segments
// Prometheus would misread. Each is refused before anything is written into TSDB_DIR.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oneLine } from './support/backup-folder';
import { tempDir } from './support/downloads';
import { runCli } from './support/processes';

const A = '01HAAAAAAAAAAAAAAAAAAAAAAA';

/** A folder of a few files, to notice any change to it. */
async function plant(folder: string): Promise<void> {
  await fs.mkdir(path.join(folder, 'chunks'), { recursive: true });
  await fs.writeFile(path.join(folder, 'meta.json'), JSON.stringify({ ulid: path.basename(folder), minTime: 0, maxTime: 1 }));
  await fs.writeFile(path.join(folder, 'chunks', '000001'), 'precious');
}

describe('restore from a sync folder with traps in it', () => {
  let root: string;
  beforeAll(async () => {
    root = await tempDir('pb-hostile-restore-');
  });
  afterAll(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  async function folderWith(setUp: (source: string) => Promise<void>): Promise<{ source: string; to: string }> {
    const base = await fs.mkdtemp(path.join(root, 'case-'));
    const source = path.join(base, 'sync');
    await plant(path.join(source, A));
    await fs.writeFile(path.join(source, A, 'index'), 'index');
    await setUp(source);
    return { source, to: path.join(base, 'tsdb') };
  }

  it('refuses a meta.json of 3 GiB (sparse) with the size limit, without reading it', async () => {
    const { source, to } = await folderWith(async (dir) => {
      const second = path.join(dir, '01HBBBBBBBBBBBBBBBBBBBBBBB');
      await plant(second);
      await fs.writeFile(path.join(second, 'index'), 'index');
      await fs.truncate(path.join(second, 'meta.json'), 3 * 1024 ** 3);
    });
    const run = await runCli(['restore', source, '--to', to]);
    expect(run.code).not.toBe(0);
    expect(oneLine(run.stderr)).toMatch(/meta\.json is larger than any meta\.json/);
    await expect(fs.readdir(to)).rejects.toThrow(/ENOENT/);
  });

  it.each([
    ['a link to a block elsewhere', (dir: string) => fs.symlink(path.join(dir, A), path.join(dir, '01HBBBBBBBBBBBBBBBBBBBBBBB'))],
    ['a file named like a block', (dir: string) => fs.writeFile(path.join(dir, '01HBBBBBBBBBBBBBBBBBBBBBBB'), 'x')],
    ['a link as a chunk segment', (dir: string) => fs.symlink('/etc/passwd', path.join(dir, A, 'chunks', '000002'))],
    ['a FIFO as the index', async (dir: string) => {
      await fs.rm(path.join(dir, A, 'index'));
      await new Promise((resolve, reject) => execFile('mkfifo', [path.join(dir, A, 'index')], (e) => (e ? reject(e) : resolve(undefined))));
    }],
  ])('refuses %s before writing anything', async (_what, trap) => {
    const { source, to } = await folderWith(trap);
    const run = await runCli(['restore', source, '--to', to]);
    expect(run.code).not.toBe(0);
    expect(oneLine(run.stderr)).toMatch(/not a regular file or folder|a file where a block folder should be/);
    await expect(fs.readdir(to)).rejects.toThrow(/ENOENT/);
  });
  it.each([
    ['1', /chunks\/1": not a file a block holds/],
    ['000003', /chunks\/000003 without chunks\/000002/],
  ])('refuses chunks/%s beside chunks/000001 (Prometheus would read the wrong segment), before writing anything', async (segment, message) => {
    const { source, to } = await folderWith((dir) => fs.writeFile(path.join(dir, A, 'chunks', segment), 'stray'));
    const run = await runCli(['restore', source, '--to', to]);
    expect(run.code).toBe(1);
    expect(oneLine(run.stderr)).toMatch(message);
    await expect(fs.readdir(to)).rejects.toThrow(/ENOENT/);
  });
});
