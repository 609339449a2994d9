import { describe, expect, it } from 'vitest';
import { escapeControls } from './terminal-text';

describe('escapeControls', () => {
  it('writes escape sequences, newlines, NUL, DEL, C1 controls and line separators as escapes', () => {
    expect(escapeControls('a\u001b[2Jb')).toBe('a\\x1b[2Jb');
    expect(escapeControls('line\nFAKE\r\t\u0000\u007f\u009b\u2028')).toBe('line\\x0aFAKE\\x0d\\x09\\x00\\x7f\\x9b\\u2028');
  });

  it('leaves printable text alone, other scripts and a backslash included', () => {
    for (const text of ['20261208T010000Z-0123456789abcdef/01HX/chunks/000001', 'Grüße, 日本語 \\x41', '']) expect(escapeControls(text)).toBe(text);
  });
});
