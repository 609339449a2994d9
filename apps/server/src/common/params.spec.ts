import { BadRequestException, NotFoundException } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { BLOCKS, REQUIRED_SNAPSHOT_NAME, SNAPSHOT_NAME, booleanParam, durationParam, formatOrDefault, formatParam, quote, requestParams, singleParam } from './params';

/** The 400 a call throws; fails the test when it throws nothing or something else. */
function badRequest(call: () => unknown): string {
  try {
    call();
  } catch (err) {
    expect(err).toBeInstanceOf(BadRequestException);
    expect((err as BadRequestException).getStatus()).toBe(400);
    return (err as BadRequestException).message;
  }
  throw new Error('expected a 400');
}

describe('requestParams', () => {
  it('takes parameters from the query string and the form body', () => {
    expect(requestParams({ skip_head: 'true' }, { download_format: 'tgz' })).toEqual({
      skip_head: 'true',
      download_format: 'tgz',
    });
  });

  it('turns a name given in both query and body into a repeated value', () => {
    expect(requestParams({ keep_within: '1h' }, { keep_within: '2h' })).toEqual({ keep_within: ['1h', '2h'] });
    expect(requestParams({ keep_within: ['1h', '3h'] }, { keep_within: '2h' })).toEqual({ keep_within: ['1h', '3h', '2h'] });
  });

  it('ignores a body that is not a form (absent, text, a JSON array)', () => {
    expect(requestParams({ a: '1' }, undefined)).toEqual({ a: '1' });
    expect(requestParams({ a: '1' }, 'a=2')).toEqual({ a: '1' });
    expect(requestParams({ a: '1' }, ['a', '2'])).toEqual({ a: '1' });
    expect(requestParams(undefined, null)).toEqual({});
  });

  it('does not modify the query object it was given', () => {
    const query = { a: '1' };
    requestParams(query, { a: '2' });
    expect(query).toEqual({ a: '1' });
  });
});

describe('singleParam', () => {
  it('gives the value of a parameter given once', () => {
    expect(singleParam('tgz', 'format')).toBe('tgz');
  });

  it('treats absent and empty alike, as plain HTML forms send empty fields', () => {
    expect(singleParam(undefined, 'format')).toBeUndefined();
    expect(singleParam(null, 'format')).toBeUndefined();
    expect(singleParam('', 'format')).toBeUndefined();
  });

  it('refuses a repeated parameter with a 400 naming it', () => {
    expect(badRequest(() => singleParam(['tar', 'tgz'], 'format'))).toMatch(/parameter format .*more than once/);
  });

  it('refuses a structured value (?format[a]=b) with a 400 naming it', () => {
    expect(badRequest(() => singleParam({ a: 'b' }, 'format'))).toMatch(/parameter format/);
  });

  it('refuses repeats found across query and body', () => {
    const params = requestParams({ name: 'a-b' }, { name: 'c-d' });
    expect(badRequest(() => singleParam(params.name, 'name'))).toContain('name');
  });
});

describe('booleanParam', () => {
  it.each([
    ['true', true],
    ['1', true],
    ['t', true],
    ['False', false],
    ['0', false],
  ])('reads %j as %s', (text, value) => {
    expect(booleanParam(text, 'skip_head', !value)).toBe(value);
  });

  it('falls back when absent or empty', () => {
    expect(booleanParam(undefined, 'skip_head', true)).toBe(true);
    expect(booleanParam('', 'skip_head', false)).toBe(false);
  });

  it.each(['yes', 'on', 'TrUe'])('refuses %j with a 400 naming the parameter and the value', (text) => {
    const message = badRequest(() => booleanParam(text, 'skip_head', false));
    expect(message).toContain('skip_head');
    expect(message).toContain(JSON.stringify(text));
  });

  it('refuses a repeated boolean', () => {
    expect(badRequest(() => booleanParam(['true', 'true'], 'skip_head', false))).toContain('skip_head');
  });
});

describe('durationParam', () => {
  it('reads Go durations in milliseconds', () => {
    expect(durationParam('90m', 'keep_within', '1h')).toBe(90 * 60_000);
    expect(durationParam('1h30m', 'keep_within', '1h')).toBe(90 * 60_000);
    expect(durationParam('0', 'keep_within', '1h')).toBe(0);
  });

  it('uses the default when absent or empty', () => {
    expect(durationParam(undefined, 'keep_within', '1h')).toBe(3_600_000);
    expect(durationParam('', 'keep_within', '12h')).toBe(12 * 3_600_000);
  });

  it.each(['1x', '15', 'soon', '1d', ' 1h'])('refuses %j with a 400 naming the parameter', (text) => {
    expect(badRequest(() => durationParam(text, 'keep_within', '1h'))).toContain('keep_within');
  });

  it('refuses a negative duration with a 400 naming the parameter', () => {
    const message = badRequest(() => durationParam('-1h', 'keep_within', '1h'));
    expect(message).toContain('keep_within');
    expect(message).toContain('negative');
  });

  it('refuses a repeated duration', () => {
    expect(badRequest(() => durationParam(['1h', '2h'], 'keep_within', '1h'))).toContain('keep_within');
  });
});

describe('formatParam', () => {
  it.each(['tar', 'tgz', 'tzst'])('accepts %s', (format) => {
    expect(formatParam(format, 'format')).toBe(format);
  });

  it('gives undefined when absent or empty, and formatOrDefault gives tar then', () => {
    expect(formatParam(undefined, 'format')).toBeUndefined();
    expect(formatParam('', 'format')).toBeUndefined();
    expect(formatOrDefault('', 'format')).toBe('tar');
    expect(formatOrDefault('tzst', 'format')).toBe('tzst');
  });

  it.each(['TAR', 'zip', 'tar.gz', 'toString', '__proto__'])(
    'refuses %j with a 400 naming the parameter and the choices',
    (text) => {
      const message = badRequest(() => formatParam(text, 'download_format'));
      expect(message).toContain('download_format');
      expect(message).toContain('tar, tgz, tzst');
    },
  );
});

describe('quote', () => {
  it('quotes short input as JSON', () => {
    expect(quote('a"b')).toBe('"a\\"b"');
  });

  it('shortens long input so it cannot bloat an error answer', () => {
    const quoted = quote('x'.repeat(10_000));
    expect(quoted.length).toBeLessThan(80);
    expect(quoted).toContain('…');
  });
});

describe('snapshot names', () => {
  it('is 404 when missing for the Go-compatible endpoints, 400 for snapshot_contents; malformed is 400 for both', () => {
    expect(() => SNAPSHOT_NAME.read({})).toThrow(NotFoundException);
    expect(badRequest(() => REQUIRED_SNAPSHOT_NAME.read({}))).toBe('parameter name is missing: which snapshot?');
    expect(badRequest(() => REQUIRED_SNAPSHOT_NAME.read({ name: '' }))).toContain('missing');
    for (const bad of ['../etc', 'a', 'a-b/c', '20240101T000000Z-abc ']) {
      expect(badRequest(() => REQUIRED_SNAPSHOT_NAME.read({ name: bad }))).toContain('must be a snapshot folder name');
      expect(badRequest(() => SNAPSHOT_NAME.read({ name: bad }))).toContain('must be a snapshot folder name');
    }
    expect(REQUIRED_SNAPSHOT_NAME.read({ name: '20240101T000000Z-abc' })).toBe('20240101T000000Z-abc');
  });
});

describe('blocks', () => {
  const A = '01HAAAAAAAAAAAAAAAAAAAAAAA';
  const B = '7ZZZZZZZZZZZZZZZZZZZZZZZZZ';

  it('is undefined when absent, and the ULIDs in order when given', () => {
    expect(BLOCKS.read({})).toBeUndefined();
    expect(BLOCKS.read({ blocks: A })).toEqual([A]);
    expect(BLOCKS.read({ blocks: `${B},${A}` })).toEqual([B, A]);
  });

  it('refuses an empty list: an empty blocks= must not mean the whole snapshot', () => {
    expect(badRequest(() => BLOCKS.read({ blocks: '' }))).toContain('parameter blocks is empty');
  });

  it.each([
    'nonsense',
    `${A},`,
    `,${A}`,
    `${A},,${B}`,
    `${A} `,
    `${A}, ${B}`,
    A.toLowerCase(),
    `8${A.slice(1)}`,
    `${A.slice(0, 25)}I`,
    `${A.slice(0, 25)}U`,
    `${A}0`,
    '../../etc',
  ])('refuses %j with a 400 naming the bad values', (text) => {
    const message = badRequest(() => BLOCKS.read({ blocks: text }));
    expect(message).toContain('parameter blocks must list block ULIDs');
    const bad = text.split(',').find((u) => !/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/.test(u))!;
    expect(message).toContain(JSON.stringify(bad));
  });

  it('refuses a repeated ULID, a repeated parameter and a non-string value', () => {
    expect(badRequest(() => BLOCKS.read({ blocks: `${A},${B},${A}` }))).toBe(`parameter blocks lists ${A} more than once`);
    expect(badRequest(() => BLOCKS.read({ blocks: [A, B] }))).toContain('more than once');
    expect(badRequest(() => BLOCKS.read({ blocks: { a: A } }))).toContain('plain value');
  });

  it('keeps a long error short', () => {
    const message = badRequest(() => BLOCKS.read({ blocks: Array.from({ length: 50 }, (_, i) => `bad${i}`.padEnd(300, 'x')).join(',') }));
    expect(message.length).toBeLessThan(600);
  });

  it('documents the same rule as a pattern in the spec', () => {
    const pattern = new RegExp((BLOCKS.doc as { pattern: string }).pattern);
    expect(pattern.test(`${A},${B}`)).toBe(true);
    expect(pattern.test(`${A},`)).toBe(false);
    expect(pattern.test(A.toLowerCase())).toBe(false);
  });
});
