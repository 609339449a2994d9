// Reading archives and folders into comparable lists of entries.
import { createHash } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import tar from 'tar-stream';
import { DecompressStream } from 'zstd-napi';

export interface Entry {
  name: string;
  type: 'directory' | 'file';
  mode: number;
  size: number;
  mtimeSeconds: number;
  sha256?: string;
}

/** The entries of a tar, tar.gz or tar.zst held in memory, in archive order. */
export async function readArchive(data: Buffer, format: 'tar' | 'tgz' | 'tzst'): Promise<Entry[]> {
  const entries: Entry[] = [];
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const hash = createHash('sha256');
    stream.on('data', (chunk) => hash.update(chunk as Buffer));
    stream.on('end', () => {
      entries.push({
        name: header.name.replace(/\/$/, ''),
        type: header.type === 'directory' ? 'directory' : 'file',
        mode: header.mode ?? -1,
        size: header.size ?? 0,
        mtimeSeconds: Math.floor((header.mtime?.getTime() ?? 0) / 1000),
        ...(header.type === 'directory' ? {} : { sha256: hash.digest('hex') }),
      });
      next();
    });
    stream.resume();
  });
  const stages =
    format === 'tgz' ? [zlib.createGunzip()] : format === 'tzst' ? [new DecompressStream()] : [];
  await pipeline([Readable.from([data]), ...stages, extract]);
  return entries;
}

/** What an archive of `folder` must hold: the folder as `<name>/`, 0755 folders, 0644 files. */
export async function describeFolder(folder: string): Promise<Entry[]> {
  const entries: Entry[] = [];
  const walk = async (abs: string, rel: string) => {
    const stats = await fs.lstat(abs);
    if (stats.isDirectory()) {
      entries.push({ name: rel, type: 'directory', mode: 0o755, size: 0, mtimeSeconds: Math.floor(stats.mtimeMs / 1000) });
      for (const child of (await fs.readdir(abs)).sort()) await walk(path.join(abs, child), `${rel}/${child}`);
    } else {
      const content = await fs.readFile(abs);
      entries.push({
        name: rel,
        type: 'file',
        mode: 0o644,
        size: stats.size,
        mtimeSeconds: Math.floor(stats.mtimeMs / 1000),
        sha256: createHash('sha256').update(content).digest('hex'),
      });
    }
  };
  await walk(folder, path.basename(folder));
  return entries;
}

export const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * A snapshot-shaped folder with `megabytes` of incompressible data, for tests that need a
 * download to last (the server archives any folder under snapshot_dir with a snapshot name).
 */
export async function makeLargeSnapshot(snapshotDir: string, name: string, megabytes: number): Promise<string> {
  const dir = path.join(snapshotDir, name, '01HXXXXXXXXXXXXXXXXXXXXXXX', 'chunks');
  await fs.mkdir(dir, { recursive: true });
  const file = await fs.open(path.join(dir, '000001'), 'w');
  for (let i = 0; i < megabytes; i++) await file.write(randomBytes(1024 * 1024));
  await file.close();
  await fs.writeFile(path.join(snapshotDir, name, '01HXXXXXXXXXXXXXXXXXXXXXXX', 'meta.json'), '{}');
  return path.join(snapshotDir, name);
}
