import { Injectable, InternalServerErrorException, NotFoundException } from '@nestjs/common';
import { isBlockUlid } from '@prombackup/contract';
import { type BlockMeta, META_JSON_MAX_BYTES, parseBlockMeta } from './block-meta';
import type { BlockDto, BlockFileDto, OtherEntryDto, SnapshotContentsDto } from './dto/snapshot-contents.dto';
import { SnapshotReadError, UnsupportedEntryError } from './snapshot-errors';
import { type SnapshotFolder, SnapshotStore } from './snapshot-store';
import type { OpenedFile, TreeEntry } from './snapshot-tree';

const META_JSON = Buffer.from('meta.json');

/** One top-level entry of a snapshot, as the walk collects it. */
interface TopEntry {
  entry: TreeEntry;
  /** `<snapshot>/<name>/`: what a path below it starts with. */
  prefix: string;
  bytes: number;
  files: BlockFileDto[];
  meta?: BlockMeta | { problem: string };
}

/**
 * What a snapshot holds, block by block, read through the same descriptor walk as a download
 * (SnapshotTree): nothing outside the snapshot folder is read, no link is followed, and only
 * meta.json files are opened, each read up to META_JSON_MAX_BYTES.
 */
@Injectable()
export class SnapshotContents {
  constructor(private readonly store: SnapshotStore) {}

  async ofSnapshot(name: string): Promise<SnapshotContentsDto> {
    return this.read(await this.store.folder(name));
  }

  /** The contents of `folder`; with `only`, of those top-level entries (by exact name) alone. */
  async read(folder: SnapshotFolder, only?: ReadonlySet<string>): Promise<SnapshotContentsDto> {
    const tops: TopEntry[] = [];
    try {
      const tree = await this.store.openTree(folder, only);
      try {
        for await (const { entry, open } of tree.entries()) {
          if (entry.depth === 0) continue;
          if (entry.depth === 1) tops.push({ entry, prefix: `${entry.relativePath}/`, bytes: 0, files: [] });
          const top = tops[tops.length - 1];
          if (entry.kind !== 'file') continue;
          top.bytes += Number(entry.stats.size);
          if (entry.depth === 1) continue;
          top.files.push({ path: entry.relativePath.slice(top.prefix.length), size: Number(entry.stats.size), mtime_ms: wholeMs(entry.stats.mtimeNs) });
          if (entry.depth === 2 && !entry.problem && entry.name.equals(META_JSON) && mayBeBlock(top.entry)) {
            top.meta = parseBlockMeta(await readCapped(await open!()), top.entry.name.toString('latin1'));
          }
        }
      } finally {
        await tree.close();
      }
    } catch (err) {
      throw listingError(folder.name, err);
    }
    const blocks: BlockDto[] = [];
    const other: OtherEntryDto[] = [];
    for (const top of tops) {
      const name = top.entry.name.toString('latin1');
      if (mayBeBlock(top.entry) && top.meta && !('problem' in top.meta)) {
        const files = top.files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
        blocks.push({ ulid: name, ...metaFields(top.meta), bytes: top.bytes, files });
      } else {
        const type = top.entry.kind;
        other.push({ name: top.entry.relativePath.slice(folder.name.length + 1), type, size: type === 'other' ? 0 : top.bytes });
      }
    }
    return { name: folder.name, blocks, other };
  }
}

/** A plain folder named by a ULID, on the snapshot's file system. */
function mayBeBlock(entry: TreeEntry): boolean {
  return entry.kind === 'directory' && !entry.problem && isBlockUlid(entry.name.toString('latin1'));
}

function metaFields(meta: BlockMeta): Omit<BlockDto, 'ulid' | 'bytes' | 'files'> {
  return {
    min_time: meta.minTime,
    max_time: meta.maxTime,
    num_series: meta.numSeries,
    num_samples: meta.numSamples,
    num_chunks: meta.numChunks,
    compaction_level: meta.compactionLevel,
  };
}

/** At most one byte more than META_JSON_MAX_BYTES of the file, however large it is or grows; closes it. */
async function readCapped({ handle }: OpenedFile): Promise<Buffer> {
  const buffer = Buffer.alloc(META_JSON_MAX_BYTES + 1);
  let length = 0;
  try {
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return buffer.subarray(0, length);
}

/** Nanoseconds to whole milliseconds, rounded down. */
function wholeMs(ns: bigint): number {
  const ms = ns / 1_000_000n;
  return Number(ns < 0n && ms * 1_000_000n !== ns ? ms - 1n : ms);
}

/** A walk that failed, as an HTTP answer: 404 when the snapshot went away, else 500 saying what could not be read. */
function listingError(name: string, err: unknown): Error {
  if (!(err instanceof SnapshotReadError || err instanceof UnsupportedEntryError)) return err as Error;
  const message = err.message.replace('while the snapshot was being streamed', 'while it was being read').replace('while it was being streamed', 'while it was being read');
  if (err instanceof SnapshotReadError && err.code === 'ENOENT' && message.startsWith(`the snapshot folder ${name} `)) return new NotFoundException(message);
  return new InternalServerErrorException(`cannot list snapshot ${name}: ${message}`);
}
