// How `sync s3://BUCKET/PREFIX` lays a TSDB out in a bucket, and the JSON it writes there.
import { createHash } from 'node:crypto';
import { isSnapshotName } from '@prombackup/contract';
import { isUlid, placeEntry, segmentGap, splitEntryName } from '../tsdb';

/**
 * PREFIX/blocks/ULID/PATH.MTIME_MS-SIZE: one object per block file. The key carries the file's
 * identity as the snapshot lists it (modification time and size), so a file that Prometheus
 * rewrites (tombstones, meta.json) gets a new key and an older manifest still finds the old one.
 */
export const BLOCKS_DIR = 'blocks/';
/** PREFIX/manifests/SNAPSHOT.json: one per sync, written last. */
export const MANIFESTS_DIR = 'manifests/';
const MANIFEST_FORMAT = 'prombackup-sync-manifest/1';
const MARKER_FORMAT = 'prombackup-sync-block/1';
/** Manifests and markers are small; anything far larger is not one. */
export const MAX_JSON_BYTES = 64 * 1024 * 1024;

/** One block file in the bucket. */
export interface StoredFile {
  path: string;
  size: number;
  mtime_ms: number;
  sha256: string;
  /** Relative to PREFIX. */
  key: string;
}

/** A block as a manifest (and its marker) names it: meta.json's facts and every file. */
export interface StoredBlock {
  ulid: string;
  min_time: number;
  max_time: number;
  num_series: number;
  num_samples: number;
  num_chunks: number;
  compaction_level: number;
  bytes: number;
  files: StoredFile[];
}

export interface SyncManifest {
  format: typeof MANIFEST_FORMAT;
  snapshot_name: string;
  /** When the sync wrote it (ISO 8601); retention goes by the snapshot name's time. */
  created_at: string;
  blocks: StoredBlock[];
}

export function manifestKey(prefix: string, snapshotName: string): string {
  return `${prefix}${MANIFESTS_DIR}${snapshotName}.json`;
}

/** The snapshot name of a key under PREFIX/manifests/, or undefined when it is not a manifest's. */
export function manifestSnapshotName(prefix: string, key: string): string | undefined {
  const name = key.startsWith(prefix + MANIFESTS_DIR) ? key.slice(prefix.length + MANIFESTS_DIR.length) : '';
  const snapshot = name.endsWith('.json') ? name.slice(0, -'.json'.length) : '';
  return isSnapshotName(snapshot) ? snapshot : undefined;
}

export function fileKey(ulid: string, file: { path: string; mtime_ms: number; size: number }): string {
  return `${BLOCKS_DIR}${ulid}/${file.path}.${file.mtime_ms}-${file.size}`;
}

/** A short name for one state of a block: its files with their sizes and times. */
export function blockVersion(files: readonly { path: string; size: number; mtime_ms: number }[]): string {
  const lines = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).map((f) => `${f.path} ${f.size} ${f.mtime_ms}\n`);
  return createHash('sha256').update(lines.join('')).digest('hex').slice(0, 20);
}

/**
 * PREFIX/blocks/ULID/complete-VERSION.json, written once every file of that state of the block is
 * in the bucket: a later sync takes a block as present only from a manifest or such a marker.
 */
export function markerKey(ulid: string, files: readonly { path: string; size: number; mtime_ms: number }[]): string {
  return `${BLOCKS_DIR}${ulid}/complete-${blockVersion(files)}.json`;
}

/** The ULID a key under PREFIX/blocks/ belongs to, and whether it is a marker. */
export function blockKeyOwner(relativeKey: string): { ulid: string; marker: boolean } | undefined {
  const match = /^blocks\/([^/]+)\/(.+)$/.exec(relativeKey);
  if (!match || !isUlid(match[1])) return undefined;
  return { ulid: match[1], marker: /^complete-[0-9a-f]{20}\.json$/.test(match[2]) };
}

export function serializeManifest(snapshotName: string, blocks: StoredBlock[]): string {
  const manifest: SyncManifest = { format: MANIFEST_FORMAT, snapshot_name: snapshotName, created_at: new Date().toISOString(), blocks };
  return `${JSON.stringify(manifest, null, 1)}\n`;
}

export function serializeMarker(block: StoredBlock): string {
  return `${JSON.stringify({ format: MARKER_FORMAT, block })}\n`;
}

/** Parses and checks a manifest; throws naming what is wrong (`where` names the object). */
export function parseManifest(text: string, where: string): SyncManifest {
  const raw = parseJson(text, where) as Partial<SyncManifest>;
  if (raw.format !== MANIFEST_FORMAT) throw new Error(`${where} is not a prombackup sync manifest (format ${JSON.stringify(raw.format)})`);
  if (!isSnapshotName(raw.snapshot_name)) throw new Error(`${where}: no valid snapshot_name`);
  if (!Array.isArray(raw.blocks)) throw new Error(`${where}: no blocks list`);
  const seen = new Set<string>();
  for (const block of raw.blocks) {
    checkBlock(block, where);
    if (seen.has(block.ulid)) throw new Error(`${where}: block ${block.ulid} is listed twice`);
    seen.add(block.ulid);
  }
  return raw as SyncManifest;
}

/** Parses a marker and checks it names `ulid`; throws naming what is wrong. */
export function parseMarker(text: string, ulid: string, where: string): StoredBlock {
  const raw = parseJson(text, where) as { format?: unknown; block?: StoredBlock };
  if (raw.format !== MARKER_FORMAT || !raw.block) throw new Error(`${where} is not a prombackup block marker`);
  checkBlock(raw.block, where);
  if (raw.block.ulid !== ulid) throw new Error(`${where} names block ${raw.block.ulid}`);
  return raw.block;
}

function parseJson(text: string, where: string): unknown {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${where} is not JSON: ${(err as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${where} is not a JSON object`);
  return raw;
}

const count = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** A block entry must name only a block's own files, at keys of that block, with hashes: restore writes paths from it. */
function checkBlock(block: StoredBlock, where: string): void {
  const bad = (why: string): never => {
    throw new Error(`${where}: ${why}`);
  };
  if (!block || typeof block !== 'object' || !isUlid(block.ulid)) bad(`a block without a valid ULID`);
  for (const field of ['min_time', 'max_time'] as const) if (!Number.isSafeInteger(block[field])) bad(`block ${block.ulid} has no valid ${field}`);
  for (const field of ['num_series', 'num_samples', 'num_chunks', 'compaction_level', 'bytes'] as const) if (!count(block[field])) bad(`block ${block.ulid} has no valid ${field}`);
  if (!Array.isArray(block.files) || block.files.length === 0) bad(`block ${block.ulid} lists no files`);
  const paths = new Set<string>();
  for (const file of block.files) {
    const name = `${block.ulid}/${String(file?.path)}`;
    if (typeof file?.path !== 'string') bad(`block ${block.ulid} has a file without a path`);
    try {
      placeEntry(splitEntryName(name), 'file', name);
    } catch (err) {
      bad((err as Error).message);
    }
    if (paths.has(file.path)) bad(`${name} is listed twice`);
    paths.add(file.path);
    if (!count(file.size) || !count(file.mtime_ms)) bad(`${name} has no valid size or mtime_ms`);
    if (typeof file.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(file.sha256)) bad(`${name} has no valid sha256`);
    if (file.key !== fileKey(block.ulid, file)) bad(`${name} has key ${JSON.stringify(file.key)}, expected ${fileKey(block.ulid, file)}`);
  }
  for (const needed of ['meta.json', 'index']) if (!paths.has(needed)) bad(`block ${block.ulid} lists no ${needed}`);
  const gap = segmentGap(paths);
  if (gap) bad(`block ${block.ulid}: ${gap}`);
}
