// A real S3 server for the s3:// tests: Ceph's RADOS Gateway on a one-node cluster that
// scripts/s3-test-server.sh starts in a temporary folder and stops by the daemons' PIDs.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { REPO_ROOT } from './processes';

const SCRIPT = path.join(REPO_ROOT, 'scripts/s3-test-server.sh');
const run = promisify(execFile);

export interface S3TestServer {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  /** The KMS key id the gateway knows for aws:kms (its "testing" backend). */
  kmsKeyId: string;
  /** The storage class besides STANDARD that the gateway's zone has. */
  otherStorageClass: string;
  /** A client with the test user's keys, path-style, for the tests' own checks. */
  client: S3Client;
  /** Environment for the CLI: endpoint and keys the SDK's default chain picks up. */
  env(): NodeJS.ProcessEnv;
  createBucket(): Promise<string>;
  /** Keys in `bucket` (under `prefix`), sorted. */
  keys(bucket: string, prefix?: string): Promise<string[]>;
  /** Multipart uploads started in `bucket` and neither completed nor aborted. */
  pendingUploads(bucket: string): Promise<string[]>;
  get(bucket: string, key: string): Promise<Buffer>;
  head(bucket: string, key: string): Promise<{ metadata: Record<string, string>; storageClass?: string; sse?: string; kmsKeyId?: string }>;
  /** Seconds the cluster took to start. */
  startSeconds: number;
  stop(): Promise<void>;
}

let buckets = 0;
const started = new Set<string>();
process.on('exit', () => {
  for (const dir of started) execFileSync(SCRIPT, ['stop', dir], { stdio: 'ignore' });
});

/** `defaultEncryption: false`: objects written without SSE headers are stored in the clear. */
export async function startS3Server(options: { defaultEncryption?: boolean } = {}): Promise<S3TestServer> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-rgw-'));
  started.add(dir);
  const begun = Date.now();
  try {
    await run(SCRIPT, ['start', dir], { timeout: 280_000, env: { ...process.env, S3_TEST_DEFAULT_ENCRYPTION: options.defaultEncryption === false ? 'off' : 'on' } });
  } catch (err) {
    started.delete(dir);
    await run(SCRIPT, ['stop', dir]).catch(() => undefined);
    const { stderr, stdout } = err as { stderr?: string; stdout?: string };
    throw new Error(`the S3 test server did not start: ${(err as Error).message}\n${stdout ?? ''}${stderr ?? ''}`);
  }
  const startSeconds = (Date.now() - begun) / 1000;
  const vars = Object.fromEntries(
    (await fs.readFile(path.join(dir, 'env'), 'utf8'))
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  const endpoint = vars.S3_ENDPOINT;
  const accessKey = vars.S3_ACCESS_KEY;
  const secretKey = vars.S3_SECRET_KEY;
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: accessKey, secretAccessKey: secretKey } });
  const server: S3TestServer = {
    endpoint,
    accessKey,
    secretKey,
    kmsKeyId: 'prombackup-test-key',
    otherStorageClass: 'STANDARD_IA',
    client,
    startSeconds,
    env: () => ({
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: accessKey,
      AWS_SECRET_ACCESS_KEY: secretKey,
      AWS_REGION: 'us-east-1',
      // Nothing from the machine's own AWS setup may leak in.
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_PROFILE: '',
    }),
    async createBucket() {
      const bucket = `pb-test-${process.pid}-${++buckets}`;
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      return bucket;
    },
    async keys(bucket, prefix) {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
      return (listed.Contents ?? []).map((o) => o.Key!).sort();
    },
    async pendingUploads(bucket) {
      const listed = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      return (listed.Uploads ?? []).map((u) => `${u.Key} (${u.UploadId})`);
    },
    async get(bucket, key) {
      const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await answer.Body!.transformToByteArray());
    },
    async head(bucket, key) {
      const answer = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { metadata: answer.Metadata ?? {}, storageClass: answer.StorageClass, sse: answer.ServerSideEncryption, kmsKeyId: answer.SSEKMSKeyId };
    },
    async stop() {
      client.destroy();
      started.delete(dir);
      await run(SCRIPT, ['stop', dir]);
    },
  };
  return server;
}
