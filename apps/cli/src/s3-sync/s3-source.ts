import type { RestoreSource } from '../restore/restore-source';
import { type S3Settings, checkBucket, createS3Client, objectExists, parseS3Url } from '../s3';
import { ManifestSource } from './manifest-source';
import { S3ArchiveSource } from './s3-archive-source';
import { type ListedManifest, SyncBucket } from './sync-bucket';

/** A usage problem with an s3:// source (exit 2), as against the store failing (exit 1). */
export class S3SourceUsageError extends Error {}

/**
 * What s3://BUCKET/KEY-OR-PREFIX names: an archive object when KEY is one (and no --manifest is
 * given), else a sync prefix, whose newest manifest (or the one `manifest` names) is read.
 */
export async function openS3Source(url: string, settings: S3Settings, manifest?: string): Promise<RestoreSource> {
  const location = parseS3Url(url);
  const client = createS3Client(settings);
  await checkBucket(client, location.bucket);
  if (location.key !== undefined && manifest === undefined && (await objectExists(client, location.bucket, location.key))) {
    return new S3ArchiveSource(client, location.bucket, location.key);
  }
  const bucket = syncBucketAt(client, location);
  const found = await bucket.manifests();
  if (found.length === 0) throw new Error(`${url}: no such object, and no sync manifest under ${bucket.url(`${bucket.prefix}manifests/`)}`);
  const chosen = manifest === undefined ? found[found.length - 1] : pick(found, manifest);
  if (!chosen) throw new S3SourceUsageError(`--manifest ${manifest}: no such manifest under ${bucket.url()}; there are ${found.map((m) => m.snapshotName).join(', ')}`);
  return new ManifestSource(bucket, chosen.key, await bucket.readManifest(chosen.key));
}

/** s3://BUCKET/PREFIX with or without its trailing '/', as a sync prefix. */
export function syncBucketAt(client: ReturnType<typeof createS3Client>, location: ReturnType<typeof parseS3Url>, write?: S3Settings['write']): SyncBucket {
  return new SyncBucket(client, location.bucket, location.key === undefined ? location.prefix : `${location.key}/`, write);
}

/** A manifest by its snapshot name, its file name, or its key. */
function pick(found: ListedManifest[], wanted: string): ListedManifest | undefined {
  return found.find((m) => m.snapshotName === wanted || `${m.snapshotName}.json` === wanted || m.key === wanted || m.key.endsWith(`/${wanted}`));
}
