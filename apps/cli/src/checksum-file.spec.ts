import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checksumLine, parseChecksumLine, writeChecksumFile } from './checksum-file';

let dir: string;
beforeEach(async () => (dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-checksum-'))));
afterEach(() => fs.rm(dir, { recursive: true, force: true }));

async function archive(name: string, content: string): Promise<{ file: string; sha256: string }> {
  const file = path.join(dir, name);
  await fs.writeFile(file, content);
  return { file, sha256: createHash('sha256').update(content).digest('hex') };
}

describe('writeChecksumFile', () => {
  it('writes what sha256sum -c accepts, also after the pair has been moved', async () => {
    const { file, sha256 } = await archive('20240101T000000Z-abc.tar.zst', 'archive bytes');
    const written = await writeChecksumFile(file, sha256);
    expect(written).toBe(`${file}.sha256`);
    expect(await fs.readFile(written, 'utf8')).toBe(`${sha256}  20240101T000000Z-abc.tar.zst\n`);
    const moved = path.join(dir, 'elsewhere');
    await fs.mkdir(moved);
    for (const f of [file, written]) await fs.rename(f, path.join(moved, path.basename(f)));
    expect(execFileSync('sha256sum', ['-c', `${path.basename(file)}.sha256`], { cwd: moved, encoding: 'utf8' })).toBe(`${path.basename(file)}: OK\n`);
  });

  it('fails sha256sum -c once the archive changed', async () => {
    const { file, sha256 } = await archive('b.tar', 'one');
    await writeChecksumFile(file, sha256);
    await fs.writeFile(file, 'two');
    expect(spawnSync('sha256sum', ['-c', 'b.tar.sha256'], { cwd: dir }).status).not.toBe(0);
  });

  it('escapes a name with a backslash as sha256sum does', async () => {
    const { file, sha256 } = await archive('odd\\name.tar', 'x');
    await writeChecksumFile(file, sha256);
    expect(spawnSync('sha256sum', ['-c', 'odd\\name.tar.sha256'], { cwd: dir }).status).toBe(0);
  });

  it('replaces an old checksum file and leaves no temporary file', async () => {
    const { file, sha256 } = await archive('c.tar', 'new');
    await fs.writeFile(`${file}.sha256`, 'stale');
    await writeChecksumFile(file, sha256);
    expect(await fs.readFile(`${file}.sha256`, 'utf8')).toContain(sha256);
    expect((await fs.readdir(dir)).sort()).toEqual(['c.tar', 'c.tar.sha256']);
  });
});

describe('parseChecksumLine', () => {
  it('reads back what checksumLine writes, escaped names included', () => {
    const sha = 'ab'.repeat(32);
    for (const name of ['x.tar', 'a\\b.tar', 'new\nline.tar']) expect(parseChecksumLine(checksumLine(name, sha))).toEqual({ sha256: sha, name });
    expect(parseChecksumLine(`${sha.toUpperCase()} *x.tar\n`)).toEqual({ sha256: sha, name: 'x.tar' });
  });

  it('refuses what is not a sha256sum line', () => {
    expect(parseChecksumLine('')).toBeUndefined();
    expect(parseChecksumLine('abc  x.tar\n')).toBeUndefined();
    expect(parseChecksumLine(`${'g'.repeat(64)}  x.tar\n`)).toBeUndefined();
  });
});
