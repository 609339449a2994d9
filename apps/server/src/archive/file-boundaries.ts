/** Files larger than this are compressed on their own: afresh from their first byte, and again after their last. */
export const RESET_BEFORE_FILES_OVER = 1024 * 1024;

/**
 * The chunks of one download that begin and end a large file's data. The stage that reads a
 * file marks them; the compressor, which sees the same chunks (archiver passes file bytes through
 * unchanged), starts afresh before the first and after the last, so identical files give identical
 * compressed runs whatever surrounds them.
 */
export class FileBoundaries {
  private readonly firsts = new WeakSet<Buffer>();
  private readonly lasts = new WeakSet<Buffer>();

  /** Marks `chunk`, read at `position` of a file of `size` bytes, when it begins or ends a large file. */
  mark(chunk: Buffer, position: number, size: number): void {
    if (size <= RESET_BEFORE_FILES_OVER) return;
    if (position === 0) this.firsts.add(chunk);
    if (position + chunk.length === size) this.lasts.add(chunk);
  }

  startsFile(chunk: Buffer): boolean {
    return this.firsts.has(chunk);
  }

  endsFile(chunk: Buffer): boolean {
    return this.lasts.has(chunk);
  }
}
