const BLOCK = 512;
const EMPTY: Buffer = Buffer.alloc(0);

export interface Piece {
  data: Buffer;
  /** True when `data` starts with the header of a regular file larger than the threshold. */
  startsLargeFile: boolean;
}

/**
 * Follows a tar byte stream header by header and cuts it where a regular file larger than
 * `threshold` begins, so that a compressor can be reset right in front of that header.
 * A header split across chunks is held back until it is whole.
 */
export class TarBoundarySplitter {
  // Bytes of entry data (plus padding) still to pass before the next header.
  private dataLeft = 0;
  private pending: Buffer = EMPTY;

  constructor(private readonly threshold: number) {}

  split(input: Buffer): Piece[] {
    const chunk = this.pending.length > 0 ? Buffer.concat([this.pending, input]) : input;
    this.pending = EMPTY;
    const pieces: Piece[] = [];
    let start = 0;
    let pos = 0;
    let startsLarge = false;
    while (pos < chunk.length) {
      if (this.dataLeft > 0) {
        const step = Math.min(this.dataLeft, chunk.length - pos);
        this.dataLeft -= step;
        pos += step;
        continue;
      }
      if (chunk.length - pos < BLOCK) {
        // A copy: the caller may reuse the chunk's memory as soon as split() returns.
        this.pending = Buffer.from(chunk.subarray(pos));
        break;
      }
      const { size, regular } = readHeader(chunk.subarray(pos, pos + BLOCK));
      if (regular && size > this.threshold) {
        if (pos > start) {
          pieces.push({ data: chunk.subarray(start, pos), startsLargeFile: startsLarge });
          start = pos;
        }
        startsLarge = true;
      }
      this.dataLeft = Math.ceil(size / BLOCK) * BLOCK;
      pos += BLOCK;
    }
    const end = chunk.length - this.pending.length;
    if (end > start) pieces.push({ data: chunk.subarray(start, end), startsLargeFile: startsLarge });
    return pieces;
  }

  /** Bytes held back at the end of the stream (only a malformed tar leaves any). */
  rest(): Buffer {
    const rest = this.pending;
    this.pending = EMPTY;
    return rest;
  }
}

function readHeader(block: Buffer): { size: number; regular: boolean } {
  const type = block[156];
  // '0' or NUL marks a regular file; the all-zero end-of-archive blocks have size 0.
  return { size: readSize(block.subarray(124, 136)), regular: type === 0x30 || type === 0 };
}

function readSize(field: Buffer): number {
  if (field[0] & 0x80) {
    // GNU base-256 encoding, used for sizes of 8 GiB and more.
    let value = 0;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i];
    return value;
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  return text === '' ? 0 : parseInt(text, 8);
}
