import { describe, expect, it } from 'vitest';
import { checkKeyRoom, keyFor, parseS3Url } from './s3-location';

describe('s3:// URLs an operator may type', () => {
  it('keeps spaces, unicode, ? and # in a key as they are (they are key bytes, not URL syntax)', () => {
    expect(parseS3Url('s3://bucket/my backups/prométhéus/a?b#c.tar')).toEqual({ bucket: 'bucket', key: 'my backups/prométhéus/a?b#c.tar', prefix: 'my backups/prométhéus/' });
    expect(keyFor(parseS3Url('s3://bucket/?x#/'), 'n.tar')).toBe('?x#/n.tar');
  });

  it('refuses // in a key, an upper-case or an IP-like-but-bad bucket', () => {
    expect(() => parseS3Url('s3://bucket//x')).toThrow(/empty/);
    expect(() => parseS3Url('s3://bucket/x//')).toThrow(/empty/);
    expect(() => parseS3Url('s3://Bucket/x')).toThrow(/not a valid bucket name/);
    expect(() => parseS3Url('s3://a..b/x')).toThrow(/not a valid bucket name/);
  });

  it('makes room for KEY.sha256 and, under a prefix, for an archive name', () => {
    const url = (path: string) => `s3://bucket/${path}`;
    for (const ok of ['k'.repeat(1017), `${'p'.repeat(970)}/`]) expect(() => checkKeyRoom(parseS3Url(url(ok)), url(ok))).not.toThrow();
    for (const bad of ['k'.repeat(1018), `${'p'.repeat(1000)}/`, `${'é'.repeat(509)}`]) {
      expect(() => checkKeyRoom(parseS3Url(url(bad)), url(bad))).toThrow(/longer than S3's 1024 bytes/);
    }
  });
});
