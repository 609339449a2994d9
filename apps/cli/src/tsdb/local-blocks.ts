import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type BlockMeta, parseBlockMeta } from './block-meta';
import { isUlid } from './block-names';

/** One regular file of a block as it is on disk: size, and modification time in whole milliseconds (rounded down, as the server lists it). */
export interface LocalFile {
  path: string;
  size: number;
  mtimeMs: number;
}

/** A ULID-named folder in a TSDB folder (or a sync folder). */
export interface LocalBlock {
  ulid: string;
  /** Regular files below it, '/'-separated paths relative to it, sorted. */
  files: LocalFile[];
  /** Anything below it that is not a regular file or a folder (a link, a socket…): such a block is never "the same". */
  odd: string[];
  bytes: number;
  /** It has a meta.json that does not parse (or is not this block's): Prometheus cannot open it as it is. */
  metaUnreadable?: boolean;
}

/** A LocalBlock with where it is and what its meta.json says (undefined when that does not parse). */
export interface TsdbBlock extends LocalBlock {
  dir: string;
  meta?: BlockMeta;
}

export interface TsdbBlocks {
  /** By ULID, sorted. */
  blocks: Map<string, TsdbBlock>;
  /** ULID names that are not folders (a file, a link): never blocks, never replaced. */
  notFolders: string[];
}

/**
 * Reads the blocks of a TSDB folder: every ULID-named folder (not a link to one) with its files,
 * sizes and modification times, walked without following links, and its meta.json where it
 * parses. Anything else in the folder is not looked into. A folder that does not exist has none.
 */
export async function readTsdbBlocks(dir: string): Promise<TsdbBlocks> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  const blocks = new Map<string, TsdbBlock>();
  const notFolders: string[] = [];
  for (const entry of entries.filter((e) => isUlid(e.name)).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (entry.isDirectory()) blocks.set(entry.name, await readBlock(path.join(dir, entry.name), entry.name));
    else notFolders.push(entry.name);
  }
  return { blocks, notFolders };
}

/** The files of one block folder, found by walking it without following links, and its meta.json where it parses. */
export async function readBlock(folder: string, ulid: string): Promise<TsdbBlock> {
  const files: LocalFile[] = [];
  const odd: string[] = [];
  const walk = async (abs: string, rel: string) => {
    for (const entry of await fs.readdir(abs, { withFileTypes: true })) {
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      const absPath = path.join(abs, entry.name);
      if (entry.isDirectory()) await walk(absPath, relPath);
      else if (entry.isFile()) {
        const stats = await fs.lstat(absPath, { bigint: true });
        files.push({ path: relPath, size: Number(stats.size), mtimeMs: Number(stats.mtimeNs / 1_000_000n) });
      } else odd.push(relPath);
    }
  };
  await walk(folder, '');
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const hasMeta = files.some((f) => f.path === 'meta.json');
  const meta = hasMeta ? await fs.readFile(path.join(folder, 'meta.json')).then((text) => parseBlockMeta(text, ulid)).catch(() => undefined) : undefined;
  return { ulid, dir: folder, files, odd: odd.sort(), bytes: files.reduce((sum, f) => sum + f.size, 0), meta, metaUnreadable: hasMeta && !meta };
}

export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file, { highWaterMark: 1024 * 1024 }), hash);
  return hash.digest('hex');
}

/** SHA-256 of each file of a block, by its path in the block; what is not a regular file says so. */
export async function blockHashes(block: TsdbBlock): Promise<Map<string, string>> {
  const hashes = new Map<string, string>();
  for (const file of block.files) hashes.set(file.path, await sha256OfFile(path.join(block.dir, file.path)));
  for (const odd of block.odd) hashes.set(odd, 'not a regular file');
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
