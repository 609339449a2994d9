import { describe, expect, it } from 'vitest';
import { describeS3Failure } from './s3-errors';
import { s3FlagsGiven, s3Settings } from './s3-settings';

describe('s3Settings', () => {
  it('passes endpoint, region, path style and the write options on', () => {
    const settings = s3Settings({ 's3-endpoint': 'http://127.0.0.1:9000', 's3-region': 'eu-west-1', 's3-path-style': true, 's3-sse': 'aws:kms', 's3-sse-kms-key-id': 'k1', 's3-storage-class': 'STANDARD_IA' });
    expect(settings.client).toMatchObject({ endpoint: 'http://127.0.0.1:9000', region: 'eu-west-1', forcePathStyle: true });
    expect(settings.write).toEqual({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'k1', StorageClass: 'STANDARD_IA' });
  });

  it.each([
    [{ 's3-endpoint': 'not a url' }, /--s3-endpoint "not a url" is not an http or https URL/],
    [{ 's3-endpoint': 'ftp://host' }, /--s3-endpoint "ftp:\/\/host" is not an http or https URL/],
    [{ 's3-region': 'eu west' }, /--s3-region "eu west" is not a region name/],
    [{ 's3-sse-kms-key-id': 'k1' }, /--s3-sse-kms-key-id needs --s3-sse aws:kms/],
    [{ 's3-sse': 'AES256', 's3-sse-kms-key-id': 'k1' }, /--s3-sse-kms-key-id needs --s3-sse aws:kms/],
    [{ 's3-sse': 'aws:kms', 's3-sse-kms-key-id': ' ' }, /--s3-sse-kms-key-id is empty/],
  ] as const)('refuses %j', (flags, message) => {
    expect(() => s3Settings({ 's3-path-style': false, ...flags })).toThrow(message);
  });

  it('names the --s3-* flags given', () => {
    expect(s3FlagsGiven({ 's3-path-style': false, 's3-sse': 'AES256' })).toEqual(['--s3-sse']);
    expect(s3FlagsGiven({ 's3-path-style': true })).toEqual(['--s3-path-style']);
  });
});

describe('describeS3Failure', () => {
  const answer = (name: string, status: number, message = 'UnknownError') => Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
  it('says what a refusal, a missing bucket and an unreachable store mean', () => {
    expect(describeS3Failure(answer('InvalidAccessKeyId', 403))).toMatch(/refused access \(InvalidAccessKeyId\): check the credentials/);
    expect(describeS3Failure(answer('Unknown', 403))).toMatch(/refused access \(HTTP 403\)/);
    expect(describeS3Failure(answer('NoSuchBucket', 404))).toBe('the bucket does not exist');
    expect(describeS3Failure(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBe('cannot reach the S3 endpoint: connect ECONNREFUSED 127.0.0.1:1');
    expect(describeS3Failure(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }))).toMatch(/no AWS credentials found/);
    expect(describeS3Failure(answer('InternalError', 500, 'boom'))).toBe('the store answered HTTP 500 InternalError: boom');
  });
});
