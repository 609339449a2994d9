// A folder of backups as `create` leaves them, for the `forget` suites.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { type ArchiveFormat, archiveFileName } from '@prombackup/contract';
import { writeChecksumFile } from '../../apps/cli/src/checksum-file';
import { NOBODY } from './processes';

/** An archive as `create` leaves it in `dir`: random bytes under the server's file name, and its .sha256. */
export async function writeArchive(dir: string, snapshot: string, format: ArchiveFormat = 'tgz', checksum = true): Promise<string> {
  const name = archiveFileName(snapshot, format);
  const bytes = randomBytes(256);
  await fs.writeFile(path.join(dir, name), bytes);
  if (checksum) await writeChecksumFile(path.join(dir, name), createHash('sha256').update(bytes).digest('hex'));
  return name;
}

/** Every entry of `folder` with what it is, its inode, size and mtime, to compare before and after. */
export async function fingerprint(folder: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await fs.readdir(folder)).sort()) {
    const s = await fs.lstat(path.join(folder, name));
    out[name] = `${s.isSymbolicLink() ? 'link' : s.isDirectory() ? 'dir' : 'file'}:${s.ino}:${s.size}:${s.mtimeMs}`;
  }
  return out;
}

/** oclif's error text on one line, without its wrapping and "›" marks. */
export const oneLine = (stderr: string) => stderr.replace(/\s*\n\s*›?\s*/g, ' ');

/** Runs the CLI as nobody, with a HOME that does not exist (oclif looks for user plugins there). */
export const AS_NOBODY = { user: NOBODY, env: { HOME: '/nonexistent' } };
