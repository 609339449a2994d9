import path from 'node:path';
import fs from 'node:fs/promises';
import { replaceFileAtomically } from './atomic-replace';

/** Where `create` puts the checksum of `archive`. */
export function checksumFileFor(archive: string): string {
  return `${archive}.sha256`;
}

/**
 * Writes ARCHIVE.sha256 in sha256sum's format ("HASH  NAME", two spaces: binary and text mode
 * are the same on Linux), naming the archive without its folder, so `sha256sum -c` run beside
 * the pair checks it wherever the two are moved together.
 */
export async function writeChecksumFile(archive: string, sha256: string): Promise<string> {
  const file = checksumFileFor(archive);
  const name = path.basename(archive);
  // sha256sum escapes names with a backslash or newline and marks the line with a leading "\".
  const line = /[\\\n]/.test(name) ? `\\${sha256}  ${name.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n` : `${sha256}  ${name}\n`;
  await replaceFileAtomically(file, line);
  return file;
}

/**
 * The SHA-256 that ARCHIVE.sha256 records (sha256sum's format, as create writes it), or undefined
 * when there is no such file. A file that holds no such line is an error: it was meant to check.
 */
export async function readChecksumFile(archive: string): Promise<string | undefined> {
  const file = checksumFileFor(archive);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${file} cannot be read: ${(err as Error).message}`);
  }
  const m = /^\\?([0-9a-fA-F]{64}) [ *]/.exec(text);
  if (!m) throw new Error(`${file} holds no SHA-256 in sha256sum's format ("HASH  NAME")`);
  return m[1].toLowerCase();
}
