import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type BlockFile, type BlockMeta, isUlid, parseBlockMeta } from '../tsdb';

/** A block already in a TSDB folder (or a sync folder); `meta` is undefined when its meta.json cannot be read. */
export interface LocalBlock {
  ulid: string;
  dir: string;
  meta?: BlockMeta;
}

/** The ULID-named folders of `dir` (none when it does not exist), with their meta.json where it parses. */
export async function localBlocks(dir: string): Promise<LocalBlock[]> {
  const names = await fs.readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  const blocks: LocalBlock[] = [];
  for (const ulid of names.filter(isUlid).sort()) {
    const blockDir = path.join(dir, ulid);
    const meta = await fs
      .readFile(path.join(blockDir, 'meta.json'))
      .then((text) => parseBlockMeta(text, ulid))
      .catch(() => undefined);
    blocks.push({ ulid, dir: blockDir, meta });
  }
  return blocks;
}

/** Every regular file of a block folder, '/'-separated paths relative to it, sorted; links and other types are reported as such. */
export async function blockFiles(blockDir: string): Promise<(BlockFile & { type: 'file' | 'other' })[]> {
  const out: (BlockFile & { type: 'file' | 'other' })[] = [];
  const walk = async (rel: string) => {
    for (const entry of (await fs.readdir(path.join(blockDir, rel), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(child);
      else {
        const stats = await fs.lstat(path.join(blockDir, child));
        out.push({ path: child, size: stats.size, mtimeMs: stats.mtimeMs, type: entry.isFile() ? 'file' : 'other' });
      }
    }
  };
  await walk('');
  return out;
}

export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file, { highWaterMark: 1024 * 1024 }), hash);
  return hash.digest('hex');
}

/** SHA-256 of each file of a block folder, by its path in the block. */
export async function blockHashes(blockDir: string): Promise<Map<string, string>> {
  const hashes = new Map<string, string>();
  for (const file of await blockFiles(blockDir)) {
    hashes.set(file.path, file.type === 'file' ? await sha256OfFile(path.join(blockDir, file.path)) : `not a regular file`);
  }
  return hashes;
}

/** Why two blocks of the same ULID differ (paths to SHA-256), or undefined when they hold the same files with the same bytes. */
export function blockDifference(existing: Map<string, string>, incoming: Map<string, string>): string | undefined {
  const paths = [...new Set([...existing.keys(), ...incoming.keys()])].sort();
  for (const p of paths) {
    if (!existing.has(p)) return `${p} is missing in the existing block`;
    if (!incoming.has(p)) return `the existing block has ${p}, the backup does not`;
    if (existing.get(p) !== incoming.get(p)) return `${p} differs`;
  }
  return undefined;
}
