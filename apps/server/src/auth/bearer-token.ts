import { createHash, timingSafeEqual } from 'node:crypto';

export type TokenVerdict = 'accepted' | 'missing' | 'wrong';

/** RFC 6750: the scheme name is case-insensitive, the token follows after one or more spaces. */
const BEARER = /^Bearer +(.+)$/i;

/** Judges Authorization headers against the one token the server was given. */
export class BearerToken {
  private readonly digest: Buffer;

  constructor(token: string) {
    this.digest = sha256(token);
  }

  check(authorization: string | undefined): TokenVerdict {
    const presented = authorization === undefined ? undefined : BEARER.exec(authorization)?.[1];
    if (presented === undefined) return 'missing';
    // Both sides are compared as SHA-256 digests: always 32 bytes, so timingSafeEqual never meets a
    // length mismatch, and neither the length nor any prefix of the token shows in the timing.
    return timingSafeEqual(sha256(presented), this.digest) ? 'accepted' : 'wrong';
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
