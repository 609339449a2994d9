import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readChecksumFile } from './checksum-file';

// ARCHIVE.sha256 is read by verify and restore before anything else: what stands there must not hang or flood them.
describe('readChecksumFile against what may stand at ARCHIVE.sha256', () => {
  let dir: string;
  const HASH = 'a'.repeat(64);
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-sum-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('refuses a named pipe at once instead of waiting for a writer', { timeout: 5_000 }, async () => {
    execFileSync('mkfifo', [path.join(dir, 'fifo.tar.sha256')]);
    await expect(readChecksumFile(path.join(dir, 'fifo.tar'))).rejects.toThrow(/not a regular file/);
  });

  it('refuses a link to an endless device instead of reading it forever', { timeout: 5_000 }, async () => {
    await fs.symlink('/dev/zero', path.join(dir, 'zero.tar.sha256'));
    await expect(readChecksumFile(path.join(dir, 'zero.tar'))).rejects.toThrow(/not a regular file/);
  });

  it('reads the first line of a huge file without loading it all, and follows a link to a regular file', async () => {
    const big = path.join(dir, 'big.tar.sha256');
    await fs.writeFile(big, `${HASH}  big.tar\n`);
    await fs.truncate(big, 3 * 1024 ** 3);
    expect(await readChecksumFile(path.join(dir, 'big.tar'))).toBe(HASH);
    await fs.symlink(big, path.join(dir, 'linked.tar.sha256'));
    expect(await readChecksumFile(path.join(dir, 'linked.tar'))).toBe(HASH);
  });
});
