// Text from outside (file names, a server's messages) that ends up in a log line or on a terminal.

/** C0 and C1 controls, DEL, and the Unicode line and paragraph separators. */
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * The text with every control character written as \xNN or \uNNNN, so a name holding an escape
 * sequence or a newline cannot forge a log line or drive the reader's terminal.
 */
export function escapeControls(text: string): string {
  return text.replace(CONTROLS, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
