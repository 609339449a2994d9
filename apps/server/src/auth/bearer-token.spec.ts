import * as crypto from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { BearerToken } from './bearer-token';

vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

const TOKEN = 'c0ffee-token-of-32-characters-ok';
const token = new BearerToken(TOKEN);
const timingSafeEqual = vi.mocked(crypto.timingSafeEqual);

const actualSha256 = (text: string) => crypto.createHash('sha256').update(text).digest();

beforeEach(() => {
  timingSafeEqual.mockClear();
});

describe('BearerToken.check', () => {
  it('accepts the token after "Bearer", the scheme in any case', () => {
    expect(token.check(`Bearer ${TOKEN}`)).toBe('accepted');
    expect(token.check(`bearer ${TOKEN}`)).toBe('accepted');
    expect(token.check(`BEARER  ${TOKEN}`)).toBe('accepted');
  });

  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['the scheme alone', 'Bearer'],
    ['another scheme', `Basic ${Buffer.from(`user:${TOKEN}`).toString('base64')}`],
    ['the bare token', TOKEN],
  ])('calls %s missing', (_, header) => {
    expect(token.check(header)).toBe('missing');
  });

  it.each([
    ['same length, one character off', `${TOKEN.slice(0, -1)}K`],
    ['a prefix', TOKEN.slice(0, 16)],
    ['the token and more', `${TOKEN}x`],
    ['much longer', TOKEN.repeat(100)],
    ['different case', TOKEN.toUpperCase()],
    ['one character', 'x'],
  ])('calls %s wrong', (_, presented) => {
    expect(token.check(`Bearer ${presented}`)).toBe('wrong');
  });

  it('compares two 32-byte digests with timingSafeEqual whatever length was sent, so length leaks nothing', () => {
    for (const presented of [TOKEN, 'x', TOKEN.slice(0, 16), `${TOKEN}x`, TOKEN.repeat(100)]) {
      timingSafeEqual.mockClear();
      token.check(`Bearer ${presented}`);
      expect(timingSafeEqual).toHaveBeenCalledTimes(1);
      const [a, b] = timingSafeEqual.mock.calls[0] as [Buffer, Buffer];
      expect(a.length).toBe(32);
      expect(b.length).toBe(32);
      expect(Buffer.from(a)).toEqual(actualSha256(presented));
      expect(Buffer.from(b)).toEqual(actualSha256(TOKEN));
    }
  });

  it('does not compare at all when no bearer token was sent', () => {
    token.check(undefined);
    token.check(`Basic ${TOKEN}`);
    expect(timingSafeEqual).not.toHaveBeenCalled();
  });
});
