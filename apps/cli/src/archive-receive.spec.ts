import { describe, expect, it } from 'vitest';
import { snapshotBytesOf } from './archive-download';
import { progressTotal } from './archive-receive';

describe('the progress total', () => {
  it('reads the server\'s snapshot size, and nothing from a header that is not a whole number', () => {
    expect(snapshotBytesOf('1048576')).toBe(1048576);
    for (const bad of [undefined, null, '', '-1', '1.5', '12abc', '99999999999999999', ['1', '2']]) expect(snapshotBytesOf(bad)).toBeUndefined();
  });

  it('is exact for tar, an estimate for compressed formats, and absent without a size', () => {
    expect(progressTotal({ name: 'x', format: 'tar' }, 10)).toEqual({ bytes: 10, estimate: false });
    expect(progressTotal({ name: 'x' }, 10)).toEqual({ bytes: 10, estimate: false });
    expect(progressTotal({ name: 'x', format: 'tgz' }, 10)).toEqual({ bytes: 10, estimate: true });
    expect(progressTotal({ name: 'x', format: 'tzst' }, 10)).toEqual({ bytes: 10, estimate: true });
    expect(progressTotal({ name: 'x', format: 'tar' }, undefined)).toBeUndefined();
  });
});
