import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { describeS3Failure } from '../s3';
import { ArchiveError, parseBlockMeta } from '../tsdb';
import { BLOCKS_DIR, type StoredFile } from './bucket-layout';
import { checking } from './manifest-source';
import type { SyncBucket } from './sync-bucket';

export interface PrefixVerifyResult {
  path: string;
  manifests: { key: string; snapshot_name: string; blocks: number; bytes: number }[];
  /** Distinct block objects read and hashed (each once, however many manifests name it). */
  objects: number;
  bytes: number;
}

/**
 * Checks a sync prefix offline: every manifest parses, every object it names is there with its
 * size, every object's bytes hash to the manifests' SHA-256 (read once each), and every meta.json
 * parses and names its block. Throws an ArchiveError naming the first object that fails.
 */
export async function verifyPrefix(bucket: SyncBucket, signal: AbortSignal, onObject?: (url: string) => void): Promise<PrefixVerifyResult> {
  const found = await bucket.manifests();
  if (found.length === 0) throw new ArchiveError(`no sync manifest under ${bucket.url(`${bucket.prefix}manifests/`)}`);
  const sizes = new Map((await bucket.list(BLOCKS_DIR)).map((o) => [o.key, o.size]));
  const distinct = new Map<string, { file: StoredFile; ulid: string }>();
  const result: PrefixVerifyResult = { path: bucket.url(), manifests: [], objects: 0, bytes: 0 };
  for (const { key } of found) {
    const manifest = await bucket.readManifest(key);
    const where = bucket.url(key);
    for (const block of manifest.blocks) {
      for (const file of block.files) {
        const url = bucket.url(bucket.prefix + file.key);
        const size = sizes.get(bucket.prefix + file.key);
        if (size === undefined) throw new ArchiveError(`${where} names ${url}, which is missing`);
        if (size !== file.size) throw new ArchiveError(`${url} has ${size} bytes, ${where} says ${file.size}`);
        const seen = distinct.get(file.key);
        if (seen && seen.file.sha256 !== file.sha256) throw new ArchiveError(`${url} is named with two different SHA-256s (${where} and another manifest)`);
        distinct.set(file.key, { file, ulid: block.ulid });
      }
    }
    result.manifests.push({ key, snapshot_name: manifest.snapshot_name, blocks: manifest.blocks.length, bytes: manifest.blocks.reduce((s, b) => s + b.bytes, 0) });
  }
  for (const { file, ulid } of distinct.values()) {
    const url = bucket.url(bucket.prefix + file.key);
    let body: Readable;
    try {
      body = (await bucket.client.send(new GetObjectCommand({ Bucket: bucket.bucket, Key: bucket.prefix + file.key }), { abortSignal: signal })).Body as Readable;
    } catch (err) {
      throw new Error(`cannot read ${url}: ${describeS3Failure(err)}`);
    }
    const chunks: Buffer[] = [];
    const keep = file.path === 'meta.json';
    await pipeline(body, checking(file, url), async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) if (keep) chunks.push(chunk);
    });
    if (keep) {
      try {
        parseBlockMeta(Buffer.concat(chunks), ulid);
      } catch (err) {
        throw new ArchiveError(`${url}: ${(err as Error).message}`);
      }
    }
    result.objects++;
    result.bytes += file.size;
    onObject?.(url);
  }
  return result;
}
