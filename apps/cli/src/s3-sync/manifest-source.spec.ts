import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { BlockStaging } from '../restore/block-staging';
import type { StoredFile, SyncManifest } from './bucket-layout';
import { ManifestSource } from './manifest-source';
import type { SyncBucket } from './sync-bucket';

const ULID = '01HAAAAAAAAAAAAAAAAAAAAAAA';
let root: string;

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-manifest-source-'));
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

/** A store whose every object is `stored`, handed over at once (a small object, as in a test bucket). */
function fakeBucket(stored: Buffer): SyncBucket {
  const client = { send: async () => ({ Body: Readable.from([stored]) }) };
  return { url: (key = '') => `s3://b/${key}`, prefix: 'p/', bucket: 'b', client } as unknown as SyncBucket;
}

const file = (p: string, data: Buffer): StoredFile => ({ path: p, key: `blocks/${ULID}/${p}`, size: data.length, sha256: createHash('sha256').update(data).digest('hex'), mtime_ms: 0 }) as StoredFile;

it('a flipped object fails the copy as a rejection, and discard() leaves no temporary folder', async () => {
  const good = Buffer.from('original');
  const manifest = { blocks: [{ ulid: ULID, bytes: 16, files: [file('chunks/000001', good), file('meta.json', good)] }] } as unknown as SyncManifest;
  const source = new ManifestSource(fakeBucket(Buffer.from('flipped!')), 'p/manifests/x.json', manifest);
  const staging = new BlockStaging(root);
  // Before the fix the check failed with no listener while staging made the folder: an uncaught error.
  await expect(source.copy({ blocks: [], skipped: [], bytes: 0 }, new Set([ULID]), staging, new AbortController().signal)).rejects.toThrow(/SHA-256 mismatch/);
  await staging.discard();
  expect(await fs.readdir(root)).toEqual([]);
});

it('list() reads every object and refuses one whose bytes do not hash to the manifest', async () => {
  const good = Buffer.from('original');
  const manifest = { blocks: [{ ulid: ULID, bytes: 16, files: [file('chunks/000001', good), file('meta.json', good)] }] } as unknown as SyncManifest;
  const bucket = fakeBucket(Buffer.from('flipped!'));
  (bucket as unknown as { list: () => Promise<unknown> }).list = async () => manifest.blocks[0].files.map((f) => ({ key: `p/${f.key}`, size: f.size }));
  const source = new ManifestSource(bucket, 'p/manifests/x.json', manifest);
  await expect(source.list(new Set(), false, new AbortController().signal)).rejects.toThrow(/chunks\/000001: SHA-256 mismatch/);
});
