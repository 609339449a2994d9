import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  type S3Client,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import { type S3WriteOptions, describeS3Failure, s3Status, s3Url } from '../s3';
import { MANIFESTS_DIR, MAX_JSON_BYTES, type StoredBlock, type SyncManifest, manifestKey, manifestSnapshotName, parseManifest } from './bucket-layout';

export interface ListedObject {
  /** The whole key. */
  key: string;
  size: number;
  lastModified: Date;
}

/** A manifest found under PREFIX/manifests/, not yet read. */
export interface ListedManifest {
  key: string;
  snapshotName: string;
}

/** A sync prefix in a bucket: the few requests sync, forget, restore and verify make there. */
export class SyncBucket {
  constructor(
    readonly client: S3Client,
    readonly bucket: string,
    /** '' or ending with '/'. */
    readonly prefix: string,
    readonly write: S3WriteOptions = {},
  ) {}

  url(key = this.prefix): string {
    return s3Url(this.bucket, key);
  }

  /**
   * Now by the store's clock, to compare with the times it gives objects: the SDK sets the offset
   * from the Date header of every answer, so a host whose clock is off does not misjudge ages.
   */
  storeNow(): number {
    return Date.now() + (this.client.config.systemClockOffset ?? 0);
  }

  /** Every object whose key starts with PREFIX + `under`. */
  async list(under: string): Promise<ListedObject[]> {
    const out: ListedObject[] = [];
    try {
      for await (const page of paginateListObjectsV2({ client: this.client }, { Bucket: this.bucket, Prefix: this.prefix + under })) {
        for (const o of page.Contents ?? []) out.push({ key: o.Key!, size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) });
      }
    } catch (err) {
      throw new Error(`cannot list ${this.url(this.prefix + under)}: ${describeS3Failure(err)}`);
    }
    return out;
  }

  /** The manifests under the prefix, oldest first (their names start with the snapshot's time). */
  async manifests(): Promise<ListedManifest[]> {
    const found: ListedManifest[] = [];
    for (const { key } of await this.list(MANIFESTS_DIR)) {
      const snapshotName = manifestSnapshotName(this.prefix, key);
      if (snapshotName) found.push({ key, snapshotName });
    }
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async readManifest(key: string): Promise<SyncManifest> {
    const text = await this.getText(key);
    if (text === undefined) throw new Error(`${this.url(key)} does not exist`);
    const manifest = parseManifest(text, this.url(key));
    if (manifestKey(this.prefix, manifest.snapshot_name) !== key) throw new Error(`${this.url(key)} names snapshot ${manifest.snapshot_name}, not its own`);
    return manifest;
  }

  /** A small object's text, or undefined when there is none at `key`. */
  async getText(key: string): Promise<string | undefined> {
    try {
      const answer = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=0-${MAX_JSON_BYTES - 1}` }));
      return await answer.Body!.transformToString();
    } catch (err) {
      if (s3Status(err) === 404 && (err as Error).name !== 'NoSuchBucket') return undefined;
      throw new Error(`cannot read ${this.url(key)}: ${describeS3Failure(err)}`);
    }
  }

  /** Writes a small JSON object; `exclusive` refuses to replace one already there (If-None-Match, where the store honours it). */
  async putJson(key: string, body: string, exclusive: boolean): Promise<void> {
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: 'application/json', ...this.write, IfNoneMatch: exclusive ? '*' : undefined }),
      );
    } catch (err) {
      if (s3Status(err) === 412) throw new Error(`${this.url(key)} already exists`);
      throw new Error(`cannot write ${this.url(key)}: ${describeS3Failure(err)}`);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      throw new Error(`cannot delete ${this.url(key)}: ${describeS3Failure(err)}`);
    }
  }

  /** Aborts the multipart uploads under PREFIX + `under` that started before `before`; returns their keys. */
  async abortPendingUploads(under: string, before: Date): Promise<string[]> {
    const aborted: string[] = [];
    try {
      let markers: { KeyMarker?: string; UploadIdMarker?: string } = {};
      for (;;) {
        const page = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: this.prefix + under, ...markers }));
        for (const upload of page.Uploads ?? []) {
          if (upload.Initiated && upload.Initiated >= before) continue;
          await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: upload.Key!, UploadId: upload.UploadId! }));
          aborted.push(upload.Key!);
        }
        if (!page.IsTruncated) break;
        markers = { KeyMarker: page.NextKeyMarker, UploadIdMarker: page.NextUploadIdMarker };
      }
    } catch (err) {
      throw new Error(`cannot clear the unfinished uploads under ${this.url(this.prefix + under)}: ${describeS3Failure(err)}`);
    }
    return aborted;
  }
}

/** The blocks a manifest names, by ULID. */
export function blocksByUlid(manifest: SyncManifest | undefined): Map<string, StoredBlock> {
  return new Map((manifest?.blocks ?? []).map((b) => [b.ulid, b]));
}
