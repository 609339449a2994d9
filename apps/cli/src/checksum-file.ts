import path from 'node:path';
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
