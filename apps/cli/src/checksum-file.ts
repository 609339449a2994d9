import path from 'node:path';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import { replaceFileAtomically } from './atomic-replace';

/** Where `create` puts the checksum of `archive` (a path, or an S3 key). */
export function checksumFileFor(archive: string): string {
  return `${archive}.sha256`;
}

/**
 * One line in sha256sum's format ("HASH  NAME", two spaces: binary and text mode are the same
 * on Linux). sha256sum escapes names with a backslash or newline and marks the line with a leading "\".
 */
export function checksumLine(name: string, sha256: string): string {
  return /[\\\n]/.test(name) ? `\\${sha256}  ${name.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n` : `${sha256}  ${name}\n`;
}

/** The hash and name of the first line of a checksum file; undefined if it is not in sha256sum's format. */
export function parseChecksumLine(text: string): { sha256: string; name: string } | undefined {
  const match = /^(\\?)([0-9a-f]{64}) [ *](.*)$/i.exec(text.split('\n')[0]);
  if (!match) return undefined;
  const name = match[1] ? match[3].replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\')) : match[3];
  return { sha256: match[2].toLowerCase(), name };
}

/**
 * Writes ARCHIVE.sha256, naming the archive without its folder, so `sha256sum -c` run beside
 * the pair checks it wherever the two are moved together.
 */
export async function writeChecksumFile(archive: string, sha256: string): Promise<string> {
  const file = checksumFileFor(archive);
  await replaceFileAtomically(file, checksumLine(path.basename(archive), sha256));
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
    text = await readHead(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${file} cannot be read: ${(err as Error).message}`);
  }
  const m = /^\\?([0-9a-fA-F]{64}) [ *]/.exec(text);
  if (!m) throw new Error(`${file} holds no SHA-256 in sha256sum's format ("HASH  NAME")`);
  return m[1].toLowerCase();
}

/** The first 4 KiB of a regular file (a link to one is followed): a FIFO or a device would block or never end. */
async function readHead(file: string): Promise<string> {
  // O_NONBLOCK: opening a FIFO does not wait for a writer; it is then refused as not a regular file.
  const handle = await fs.open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  try {
    if (!(await handle.stat()).isFile()) throw new Error('not a regular file');
    const buffer = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}
