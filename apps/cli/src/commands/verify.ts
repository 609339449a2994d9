import { rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Args, Flags } from '@oclif/core';
import { formatBytes } from '@prombackup/contract';
import { exitOnInterrupt } from '../interruption';
import { LocalCommand } from '../local-command';
import { BlockStaging } from '../restore/block-staging';
import { analyzeBlock, findPromtool } from '../restore/promtool';
import { ArchiveSource, type RestoreSource } from '../restore/restore-source';
import { S3_FLAGS, checkBucket, createS3Client, isS3Url, objectExists, parseS3Url, s3FlagsGiven, s3Settings } from '../s3';
import { type PrefixVerifyResult, verifyPrefix } from '../s3-sync/prefix-verify';
import { S3ArchiveSource } from '../s3-sync/s3-archive-source';
import { syncBucketAt } from '../s3-sync/s3-source';

export interface VerifiedBlock {
  ulid: string;
  min_time: number;
  max_time: number;
  num_series: number;
  num_samples: number;
  bytes: number;
  /** Opened by promtool (--deep). */
  analyzed: boolean;
}

export interface VerifyResult {
  path: string;
  format: 'tar' | 'tgz' | 'tzst';
  sha256: string;
  /** 'verified' against FILE.sha256, or 'not-checked' with --no-checksum. */
  checksum: 'verified' | 'not-checked';
  blocks: VerifiedBlock[];
  /** Top-level names that are not blocks (wal, chunks_head…), which restore leaves out. */
  left_out: string[];
  bytes: number;
  seconds: number;
}

const FORMAT = { none: 'tar', gzip: 'tgz', zstd: 'tzst' } as const;

export default class Verify extends LocalCommand {
  static override summary = 'Check an archive offline: its SHA-256, every entry to the end, every block complete.';
  static override description =
    'Compares the SHA-256 of FILE with FILE.sha256, reads the whole archive (tar, tar.gz or tar.zst, recognised by content), ' +
    'checks that it holds only complete blocks (meta.json, index, chunks/ with a segment) under safe names and parses every meta.json. ' +
    'With --deep it also extracts each block into a temporary folder and opens it with `promtool tsdb analyze --extended`. ' +
    'Exits 0 only if everything holds; otherwise says what is wrong and where.';
  static override examples = [
    '<%= config.bin %> verify /backups/20221109T202035Z-355a5b4970d5a906.tar.zst',
    '<%= config.bin %> verify backup.tar.gz --deep --json',
    '<%= config.bin %> verify s3://my-backups/prometheus   # a sync prefix: every manifest, every object hashed',
  ];
  static override args = {
    file: Args.string({ description: 'An archive made by create or download; or s3://BUCKET/KEY (an archive object) or s3://BUCKET/PREFIX kept by sync', required: true }),
  };
  static override flags = {
    checksum: Flags.boolean({ summary: 'Require FILE.sha256 and compare with it (--no-checksum checks an archive that has none).', default: true, allowNo: true }),
    deep: Flags.boolean({ summary: 'Also open every block with `promtool tsdb analyze --extended` (promtool must be on PATH).' }),
    'tmp-dir': Flags.string({ summary: 'Where --deep extracts a block at a time (default: the system temporary folder).', helpValue: 'DIR' }),
    ...S3_FLAGS,
  };

  private stopping?: Promise<never>;

  /** An interrupted run stands aside: the signal handler cleans up, reports and exits. */
  protected override async catch(err: Error & { oclif?: { exit?: number } }): Promise<unknown> {
    if (this.stopping) return this.stopping;
    return super.catch(err);
  }

  async run(): Promise<VerifyResult | PrefixVerifyResult> {
    const started = Date.now();
    const { args, flags } = await this.parse(Verify);
    if (flags['tmp-dir'] !== undefined && !flags.deep) this.error('--tmp-dir is for --deep', { exit: 2 });
    let source: RestoreSource;
    if (isS3Url(args.file)) {
      const opened = await this.s3Source(args.file, flags);
      if (!opened.archive) {
        if (flags.deep) this.error('--deep opens the blocks of an archive; for a sync prefix, restore a manifest and run promtool on it', { exit: 2 });
        return this.verifyPrefix(opened.bucket);
      }
      source = opened.source;
    } else {
      const given = s3FlagsGiven(flags);
      if (given.length > 0) this.error(`${given.join(', ')} only apply to an s3:// URL`, { exit: 2 });
      const file = path.resolve(args.file);
      const stats = await fs.stat(file).catch(() => this.error(`${file} does not exist`, { exit: 2 }));
      if (!stats.isFile()) this.error(`${file} is not a file`, { exit: 2 });
      source = new ArchiveSource(file);
    }
    const file = source.path;
    const promtool = flags.deep ? findPromtool() : undefined;
    if (flags.deep && !promtool) this.error('--deep needs promtool on PATH (Debian: apt-get install prometheus)', { exit: 2 });
    const expected = flags.checksum ? await source.checksum!().catch((err: Error) => this.error(err.message, { exit: 1 })) : undefined;
    if (flags.checksum && expected === undefined) {
      this.error(`${file}.sha256 is missing, so the archive cannot be checked against the SHA-256 it had when it was saved; --no-checksum checks the rest without it`, { exit: 1 });
    }
    const abort = new AbortController();
    const { listing } = await source.list(new Set(), true, abort.signal);
    if (expected !== undefined && listing.sha256 !== expected) {
      this.error(`${file}: SHA-256 mismatch: the file hashes to ${listing.sha256}, ${file}.sha256 says ${expected}; it changed since it was saved`, { exit: 1 });
    }
    if (listing.blocks.length === 0) this.error(`${file} holds no blocks`, { exit: 1 });

    const analyzed = new Set<string>();
    if (promtool) await this.analyzeAll(source, listing, promtool, flags['tmp-dir'] ?? os.tmpdir(), analyzed, abort);

    const blocks = listing.blocks.map((b) => ({
      ulid: b.ulid,
      min_time: b.meta.minTime,
      max_time: b.meta.maxTime,
      num_series: b.meta.numSeries,
      num_samples: b.meta.numSamples,
      bytes: b.bytes,
      analyzed: analyzed.has(b.ulid),
    }));
    for (const b of blocks) {
      this.log(`${b.ulid}  ${new Date(b.min_time).toISOString()} – ${new Date(b.max_time).toISOString()}  ${b.num_series} series, ${b.num_samples} samples, ${formatBytes(b.bytes)}${b.analyzed ? ', opened by promtool' : ''}`);
    }
    const checksum = expected === undefined ? 'not-checked' : 'verified';
    const total = blocks.reduce((sum, b) => sum + b.bytes, 0);
    this.log(`${file}: OK, ${blocks.length} complete block(s), ${formatBytes(total)}; ${checksum === 'verified' ? `SHA-256 matches ${file}.sha256` : 'SHA-256 not checked (--no-checksum)'}`);
    if (listing.skipped.length > 0) this.log(`not blocks, left out by restore: ${listing.skipped.join(', ')}`);
    return { path: file, format: FORMAT[listing.compression!], sha256: listing.sha256!, checksum, blocks, left_out: listing.skipped, bytes: total, seconds: (Date.now() - started) / 1000 };
  }

  /** s3://BUCKET/KEY when KEY is an object (an archive), else s3://BUCKET/PREFIX as a sync prefix. */
  private async s3Source(url: string, flags: Parameters<typeof s3Settings>[0]) {
    let location;
    let client;
    try {
      location = parseS3Url(url);
      client = createS3Client(s3Settings(flags));
    } catch (err) {
      this.error((err as Error).message, { exit: 2 });
    }
    try {
      await checkBucket(client, location.bucket);
      if (location.key !== undefined && (await objectExists(client, location.bucket, location.key))) {
        return { archive: true as const, source: new S3ArchiveSource(client, location.bucket, location.key) };
      }
    } catch (err) {
      this.error((err as Error).message, { exit: 1 });
    }
    return { archive: false as const, bucket: syncBucketAt(client, location) };
  }

  private async verifyPrefix(bucket: ReturnType<typeof syncBucketAt>): Promise<PrefixVerifyResult> {
    try {
      const result = await verifyPrefix(bucket, new AbortController().signal);
      for (const m of result.manifests) this.log(`${bucket.url(m.key)}: ${m.blocks} block(s), ${formatBytes(m.bytes)}, all there`);
      this.log(`${result.path}: OK, ${result.manifests.length} manifest(s); ${result.objects} object(s), ${formatBytes(result.bytes)}, each read and matching its SHA-256`);
      return result;
    } catch (err) {
      this.error((err as Error).message, { exit: 1 });
    }
  }

  /** Second pass: each block into a scratch folder, opened by promtool there, then removed. */
  private async analyzeAll(source: RestoreSource, listing: Awaited<ReturnType<RestoreSource['list']>>['listing'], promtool: string, tmp: string, analyzed: Set<string>, abort: AbortController): Promise<void> {
    // Watched from before the scratch folder exists, so that an interruption never leaves it behind.
    let scratch: string | undefined;
    const stopWatching = exitOnInterrupt(
      {
        cleanUp: async (signal) => {
          // Reading stops first; a file created while the folder goes makes rm retry.
          abort.abort();
          if (scratch) await fs.rm(scratch, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
          return `stopped by ${signal} while opening blocks with promtool${scratch ? `; ${scratch} is removed` : ''}`;
        },
        lastResort: () => scratch && rmSync(scratch, { recursive: true, force: true }),
      },
      (stopping) => (this.stopping = stopping),
    );
    try {
      scratch = await fs.mkdtemp(path.join(tmp, 'prombackup-verify-'));
      const root = scratch;
      const staging = new BlockStaging(root, false, async (ulid, dir) => {
        // Each block alone in a data folder of its own: promtool opens every block of the folder it is given.
        const alone = path.join(root, `analyze-${ulid}`);
        await fs.mkdir(alone);
        await fs.rename(dir, path.join(alone, ulid));
        await analyzeBlock(promtool, alone, ulid);
        analyzed.add(ulid);
        await fs.rm(alone, { recursive: true, force: true });
      });
      try {
        await source.copy(listing, new Set(listing.blocks.map((b) => b.ulid)), staging, abort.signal);
        await staging.settle();
      } finally {
        await staging.discard();
      }
    } finally {
      if (scratch) await fs.rm(scratch, { recursive: true, force: true });
      stopWatching();
    }
  }
}
