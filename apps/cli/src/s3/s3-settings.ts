import { Flags } from '@oclif/core';
import { S3Client, type S3ClientConfig, StorageClass } from '@aws-sdk/client-s3';

/** The server-side encryption --s3-sse takes: S3-managed keys, or a KMS key. */
const SSE_MODES = ['AES256', 'aws:kms'] as const;
type SseMode = (typeof SSE_MODES)[number];

/** The flags of every command that reads or writes s3:// URLs; credentials come from the SDK's default chain. */
export const S3_FLAGS = {
  's3-endpoint': Flags.string({
    summary: 'S3 endpoint URL for another S3-compatible store (MinIO, Ceph RGW, R2...). Default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile\'s endpoint_url, else AWS.',
    helpValue: 'URL',
    helpGroup: 'S3',
  }),
  's3-path-style': Flags.boolean({ summary: 'Address buckets as ENDPOINT/BUCKET rather than BUCKET.ENDPOINT (most stores other than AWS want it).', helpGroup: 'S3' }),
  's3-region': Flags.string({ summary: 'S3 region. Default: AWS_REGION, then the profile\'s region.', helpValue: 'REGION', helpGroup: 'S3' }),
  's3-storage-class': Flags.option({ options: Object.values(StorageClass), summary: 'Storage class of written objects (default: the bucket\'s, usually STANDARD).', helpGroup: 'S3' })(),
  's3-sse': Flags.option({ options: SSE_MODES, summary: 'Server-side encryption of written objects: AES256 (S3-managed keys) or aws:kms.', helpGroup: 'S3' })(),
  's3-sse-kms-key-id': Flags.string({ summary: 'KMS key for --s3-sse aws:kms (default: the account\'s aws/s3 key).', helpValue: 'KEY-ID', helpGroup: 'S3' }),
};

export interface S3FlagValues {
  's3-endpoint'?: string;
  's3-path-style': boolean;
  's3-region'?: string;
  's3-storage-class'?: StorageClass;
  's3-sse'?: SseMode;
  's3-sse-kms-key-id'?: string;
}

/** What every written object gets: storage class and encryption. */
export interface S3WriteOptions {
  StorageClass?: StorageClass;
  ServerSideEncryption?: SseMode;
  SSEKMSKeyId?: string;
}

export interface S3Settings {
  client: S3ClientConfig;
  write: S3WriteOptions;
}

/** How long a connection to the store may take, and how long a request may go without a byte moving. */
const CONNECT_MS = 10_000;
const IDLE_MS = 120_000;

/** Checks the --s3-* flags; throws an Error naming the flag and the problem. */
export function s3Settings(flags: S3FlagValues): S3Settings {
  const endpoint = flags['s3-endpoint'];
  if (endpoint !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(endpoint);
    } catch {
      // said below
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
      throw new Error(`--s3-endpoint ${JSON.stringify(endpoint)} is not an http or https URL; expected e.g. https://minio.example:9000`);
    }
  }
  const region = flags['s3-region'];
  if (region !== undefined && !/^[a-z0-9][a-z0-9-]{0,62}$/i.test(region)) throw new Error(`--s3-region ${JSON.stringify(region)} is not a region name; expected e.g. eu-west-1`);
  const kmsKey = flags['s3-sse-kms-key-id'];
  if (kmsKey !== undefined && flags['s3-sse'] !== 'aws:kms') throw new Error('--s3-sse-kms-key-id needs --s3-sse aws:kms');
  if (kmsKey !== undefined && kmsKey.trim() === '') throw new Error('--s3-sse-kms-key-id is empty');
  return {
    client: {
      endpoint,
      region,
      forcePathStyle: flags['s3-path-style'] || undefined,
      requestHandler: { connectionTimeout: CONNECT_MS, requestTimeout: IDLE_MS },
    },
    write: { StorageClass: flags['s3-storage-class'], ServerSideEncryption: flags['s3-sse'], SSEKMSKeyId: kmsKey },
  };
}

/** The --s3-* flags given on a command line whose paths are not s3:// URLs (they would do nothing). */
export function s3FlagsGiven(flags: S3FlagValues): string[] {
  return (Object.keys(S3_FLAGS) as Array<keyof S3FlagValues>).filter((name) => flags[name] !== undefined && flags[name] !== false).map((name) => `--${name}`);
}

export function createS3Client(settings: S3Settings): S3Client {
  return new S3Client(settings.client);
}
