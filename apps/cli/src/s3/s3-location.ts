/** A place in a bucket: a whole key, or a prefix that a file name is added to. */
export interface S3Location {
  bucket: string;
  /** The object's key; undefined when the URL names a prefix (it ended with '/', or named only the bucket). */
  key?: string;
  /** What a name is put after when the URL names a prefix: '' or ending with '/'. */
  prefix: string;
}

const SCHEME = 's3://';
/** S3's rule for new buckets: 3-63 lower-case letters, digits, dots and hyphens, a letter or digit at each end. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** S3 keys are at most 1024 bytes of UTF-8. */
const MAX_KEY_BYTES = 1024;
/** An archive's name as create gives it (a Prometheus snapshot name, .tar.zst) plus the .sha256 of its checksum object. */
const ARCHIVE_NAME_BYTES = Buffer.byteLength('20221109T202035Z-355a5b4970d5a906.tar.zst.sha256');
const CHECKSUM_SUFFIX_BYTES = Buffer.byteLength('.sha256');

export function isS3Url(value: string | undefined): value is string {
  return value !== undefined && value.slice(0, SCHEME.length).toLowerCase() === SCHEME;
}

/**
 * Parses s3://BUCKET/KEY or s3://BUCKET/PREFIX/ (or s3://BUCKET). Throws an Error saying what is
 * wrong: no bucket, a bucket S3 would not accept, or a key with empty, '.' or '..' segments
 * (they mean nothing to S3, but a restore into a folder would read them as paths).
 */
export function parseS3Url(url: string): S3Location {
  if (!isS3Url(url)) throw new Error(`${JSON.stringify(url)} is not an s3:// URL; expected s3://BUCKET/KEY or s3://BUCKET/PREFIX/`);
  const rest = url.slice(SCHEME.length);
  const slash = rest.indexOf('/');
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash + 1);
  if (bucket === '') throw new Error(`${JSON.stringify(url)} names no bucket; expected s3://BUCKET/KEY or s3://BUCKET/PREFIX/`);
  if (!BUCKET.test(bucket) || bucket.includes('..')) {
    throw new Error(`${JSON.stringify(bucket)} is not a valid bucket name: 3-63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit`);
  }
  if (/[\x00-\x1f\x7f]/.test(path)) throw new Error(`the key in ${JSON.stringify(url)} holds control characters`);
  if (Buffer.byteLength(path) > MAX_KEY_BYTES) throw new Error(`the key in ${JSON.stringify(url)} is longer than S3's ${MAX_KEY_BYTES} bytes`);
  if (path === '') return { bucket, prefix: '' };
  const isPrefix = path.endsWith('/');
  const segments = (isPrefix ? path.slice(0, -1) : path).split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new Error(`the key in ${JSON.stringify(url)} has an empty, '.' or '..' segment`);
  }
  return isPrefix ? { bucket, prefix: path } : { bucket, key: path, prefix: path.slice(0, path.lastIndexOf('/') + 1) };
}

/** The key for `name` at `location`: its own key, or the name under its prefix. */
export function keyFor(location: S3Location, name: string): string {
  return location.key ?? `${location.prefix}${name}`;
}

export function s3Url(bucket: string, key: string): string {
  return `${SCHEME}${bucket}/${key}`;
}

/**
 * Throws unless an archive and its KEY.sha256 fit S3's key limit at `location` (a prefix must
 * leave room for an archive's name), so that neither is refused by the store half way through.
 */
export function checkKeyRoom(location: S3Location, url: string): void {
  const bytes = location.key === undefined ? Buffer.byteLength(location.prefix) + ARCHIVE_NAME_BYTES : Buffer.byteLength(location.key) + CHECKSUM_SUFFIX_BYTES;
  if (bytes <= MAX_KEY_BYTES) return;
  const what = location.key === undefined ? 'an archive name and .sha256 after the prefix' : '.sha256 added for the checksum object';
  throw new Error(`the key in ${JSON.stringify(url)} with ${what} is longer than S3's ${MAX_KEY_BYTES} bytes`);
}
