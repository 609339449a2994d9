import { ApiError } from '@prombackup/client';
import { describe, expect, it } from 'vitest';
import { describeApiFailure } from './api';
import { verify } from './download-outcome';

// A server (or whatever answers in its place) may send text with terminal escape sequences.
const EVIL = 'blk/\u001b[2J\u001b]0;pwned\u0007\nforged line';

describe("a server's words on the operator's terminal", () => {
  it("a failed download's error_text is shown with its control characters escaped", () => {
    const status = { id: 'x', snapshot_name: 'y', finished: { success: false, error_text: EVIL, sha256_hex: '' } };
    expect(() => verify(status, '', 'x')).toThrow('failed: blk/\\x1b[2J\\x1b]0;pwned\\x07\\x0aforged line');
  });

  it("an error answer's message is shown with its control characters escaped", () => {
    const answer = new ApiError({ method: 'GET', url: '/api/snapshots' }, { url: '', ok: false, status: 500, statusText: 'x', body: { message: EVIL } }, 'failed');
    expect(describeApiFailure(answer, 'http://s')).toBe('server answered HTTP 500: blk/\\x1b[2J\\x1b]0;pwned\\x07\\x0aforged line');
  });
});
