// Test data that compresses well but never repeats itself, for the compressors' tests.

/** Words from a small vocabulary in pseudo-random order (xorshift from `seed`), `length` bytes. */
export function words(length: number, seed = 7): Buffer {
  const vocabulary = Array.from({ length: 512 }, (_, i) => `w${((i * 2_654_435_761) >>> 0).toString(36)} `);
  const parts: string[] = [];
  let x = seed;
  for (let n = 0; n < length; ) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const word = vocabulary[(x >>> 0) % vocabulary.length];
    parts.push(word);
    n += word.length;
  }
  return Buffer.from(parts.join('')).subarray(0, length);
}
