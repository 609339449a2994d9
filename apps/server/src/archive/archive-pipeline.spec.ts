import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decompress as zstdDecompress } from 'zstd-napi';
import { COMPRESSION_LEVELS } from '@prombackup/contract';
import { words } from '../../../../test/support/text';
import { zstdStreamed } from '../../../../test/support/zstd-reference';
import { ServerConfig } from '../config/server-config';
import { parseSettings } from '../config/settings';
import { SnapshotStore } from '../snapshots/snapshot-store';
import { type ArchiveRequest, type ArchiveResult, ArchivePipeline } from './archive-pipeline';
import { GZIP_BLOCK_BYTES, gzipMemberOptions } from './gzip-lane';
import { HashingPool } from './offthread-sha256';
import { SlotMemory } from './read-slots';
import { SnapshotArchiver } from './snapshot-archiver';
import { zstdParameters } from './zstd-settings';

const MiB = 1024 * 1024;
const CHUNKS = '01HAAAAAAAAAAAAAAAAAAAAAAA/chunks/000001';
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** The large file compressed on its own, as the pipeline must reproduce it wherever the file sits. */
async function runOf(format: 'tgz' | 'tzst', data: Buffer): Promise<Buffer> {
  if (format === 'tgz') return zlib.gzipSync(data.subarray(0, GZIP_BLOCK_BYTES), gzipMemberOptions(COMPRESSION_LEVELS.tgz.default));
  return zstdStreamed(data, zstdParameters(COMPRESSION_LEVELS.tzst.default));
}

describe('ArchivePipeline.run', () => {
  const big = words(3 * MiB, 42);
  let tmp: string;
  let hashing: HashingPool;
  let archive: ArchivePipeline;
  let store: SnapshotStore;
  let server: http.Server;
  let handle: (res: http.ServerResponse) => Promise<void>;

  /** Runs the pipeline into a real HTTP response; the body as received and the result. */
  async function download(name: string, request: ArchiveRequest, abortAfter?: number): Promise<{ body: Buffer; result: ArchiveResult; doneReading: number }> {
    const abort = new AbortController();
    let doneReading = 0;
    let result!: ArchiveResult;
    let sent = 0;
    handle = async (res) => {
      const progress = {
        signal: abort.signal,
        sent: (n: number) => {
          sent += n;
          if (abortAfter !== undefined && sent >= abortAfter) abort.abort(new Error('stopped by the test'));
        },
        doneReading: () => doneReading++,
      };
      result = await archive.run(await store.folder(name), request, res, progress);
    };
    const body = await new Promise<Buffer>((resolve) => {
      http.get(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve(Buffer.concat(chunks)));
        res.on('error', () => resolve(Buffer.concat(chunks)));
      }).on('error', () => resolve(Buffer.alloc(0)));
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    return { body, result, doneReading };
  }

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'prombackup-pipeline-'));
    // The same chunk file in two snapshots, beside different small files.
    for (const [name, small] of [['20240101T000000Z-aaaa', 3_000], ['20240309T121314Z-bbbbbbbb', 777]] as const) {
      mkdirSync(path.join(tmp, name, path.dirname(CHUNKS)), { recursive: true });
      writeFileSync(path.join(tmp, name, '01HAAAAAAAAAAAAAAAAAAAAAAA', 'meta.json'), words(small, small));
      writeFileSync(path.join(tmp, name, CHUNKS), big);
    }
    store = new SnapshotStore(new ServerConfig(parseSettings(['-snapshot_dir', tmp])));
    hashing = new HashingPool();
    archive = new ArchivePipeline(new SnapshotArchiver(store), new SlotMemory(), hashing);
    server = http.createServer((_req, res) => void handle(res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await hashing.onModuleDestroy();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('reports the bytes sent and their SHA-256, and that the files were read to the end', async () => {
    const { body, result, doneReading } = await download('20240101T000000Z-aaaa', { format: 'tar' });
    expect(result).toEqual({ bytes: body.length, sha256Hex: sha256(body), errorText: null });
    expect(body.includes(big)).toBe(true);
    expect(doneReading).toBe(1);
  });

  it.each(['tgz', 'tzst'] as const)('compresses a large file on its own in %s, so two snapshots holding it share its compressed run', async (format) => {
    const probe = await runOf(format, big);
    expect(probe.length).toBeGreaterThan(100_000);
    for (const name of ['20240101T000000Z-aaaa', '20240309T121314Z-bbbbbbbb']) {
      const { body, result } = await download(name, { format });
      expect(result.errorText).toBeNull();
      expect((format === 'tgz' ? zlib.gunzipSync(body) : zstdDecompress(body)).includes(big)).toBe(true);
      expect(body.includes(probe)).toBe(true);
    }
  });

  it('stops when its signal aborts, giving the reason, and still hashes what was sent', async () => {
    const { body, result, doneReading } = await download('20240101T000000Z-aaaa', { format: 'tar' }, 2 * MiB);
    expect(result.errorText).toBe('stopped by the test');
    expect(body.length).toBeLessThan(big.length);
    expect(result.sha256Hex).toMatch(/^[0-9a-f]{64}$/);
    expect(doneReading).toBe(1);
  });

  it('fails at once, and lets go of the snapshot, when the client left before the archive started', async () => {
    const closed = new Promise<ArchiveResult>((resolve) => {
      handle = async (res) => {
        // The client is gone before the pipeline starts (a killed CLI, a dropped connection).
        await new Promise((r) => res.once('close', r));
        const progress = { signal: new AbortController().signal, sent: () => undefined, doneReading: () => undefined };
        resolve(await archive.run(await store.folder('20240101T000000Z-aaaa'), { format: 'tar' }, res, progress));
      };
    });
    const request = http.get(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    request.on('error', () => undefined);
    setTimeout(() => request.destroy(), 50);
    const result = await Promise.race([closed, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 5_000))]);
    expect(result).not.toBe('hung');
    expect((result as ArchiveResult).errorText).toMatch(/client closed the connection/);
  });
});
