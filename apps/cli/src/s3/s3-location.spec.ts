import { describe, expect, it } from 'vitest';
import { isS3Url, keyFor, parseS3Url } from './s3-location';

describe('parseS3Url', () => {
  it.each([
    ['s3://backups/prom/', { bucket: 'backups', prefix: 'prom/' }],
    ['s3://backups', { bucket: 'backups', prefix: '' }],
    ['s3://backups/', { bucket: 'backups', prefix: '' }],
    ['s3://backups/a/b/x.tar', { bucket: 'backups', key: 'a/b/x.tar', prefix: 'a/b/' }],
    ['S3://my.bucket-1/x.tar', { bucket: 'my.bucket-1', key: 'x.tar', prefix: '' }],
  ])('%s', (url, expected) => {
    expect(parseS3Url(url)).toEqual(expected);
  });

  it.each([
    ['s3://', /names no bucket/],
    ['s3:///key', /names no bucket/],
    ['s3://Backups/x', /not a valid bucket name/],
    ['s3://ab/x', /not a valid bucket name/],
    ['s3://under_score/x', /not a valid bucket name/],
    ['s3://a..b/x', /not a valid bucket name/],
    ['s3://bucket/a//b', /empty, '.' or '..' segment/],
    ['s3://bucket/../x', /empty, '.' or '..' segment/],
    ['s3://bucket/a/./x', /empty, '.' or '..' segment/],
    ['s3://bucket/a\nb', /control characters/],
    [`s3://bucket/${'k'.repeat(1025)}`, /longer than S3's 1024 bytes/],
    ['https://bucket/x', /not an s3:\/\/ URL/],
  ])('refuses %j', (url, message) => {
    expect(() => parseS3Url(url)).toThrow(message);
  });

  it('puts a name under a prefix, and keeps a whole key as it is', () => {
    expect(keyFor(parseS3Url('s3://bucket/p/'), 'n.tar')).toBe('p/n.tar');
    expect(keyFor(parseS3Url('s3://bucket'), 'n.tar')).toBe('n.tar');
    expect(keyFor(parseS3Url('s3://bucket/p/k.tar'), 'n.tar')).toBe('p/k.tar');
  });

  it('tells s3:// URLs from paths', () => {
    expect(isS3Url('s3://b/k')).toBe(true);
    expect(isS3Url('./s3://b')).toBe(false);
    expect(isS3Url(undefined)).toBe(false);
  });
});
