import { Injectable } from '@nestjs/common';

/** Bytes per slot, and per file read. */
export const SLOT_BYTES = 1024 * 1024;

/** Slots per download: enough for every stage of the pipeline to hold a chunk or two. */
export const DEFAULT_SLOTS = 14;

/**
 * Memory of finished downloads, for the next ones: shared memory is returned only once every
 * thread that saw it has collected its garbage, which the hashing worker seldom does. At most
 * one per download that ran at the same time is kept. A Nest provider, one per application.
 */
@Injectable()
export class SlotMemory {
  private readonly idle: SharedArrayBuffer[] = [];

  /** `size` bytes of shared memory: a finished download's, else new. */
  take(size: number): SharedArrayBuffer {
    const at = this.idle.findIndex((memory) => memory.byteLength === size);
    return at >= 0 ? this.idle.splice(at, 1)[0] : new SharedArrayBuffer(size);
  }

  give(memory: SharedArrayBuffer): void {
    this.idle.push(memory);
  }
}

/**
 * The read buffers of one download: a few 1 MiB slots of shared memory that file reads go into
 * and that are reused once every holder of a chunk has let it go.
 *
 * Reusing them keeps memory flat and warm in the CPU cache, where a fresh buffer per read left
 * tens of megabytes of garbage for the collector. Shared memory lets the hashing worker read a
 * chunk where it lies, without a copy.
 *
 * A chunk is held once by the stage that read it; a stage that passes it on hands its hold with
 * it, and the stage that is done with the bytes (the socket and the hash, or a compressor that
 * copied them) releases it. When every slot is taken, take() gives an ordinary buffer, so a
 * consumer that forgets to release costs speed, never correctness.
 */
export class ReadSlots {
  readonly memory: SharedArrayBuffer;
  private readonly bytes: Buffer;
  private readonly holders: Uint8Array;
  private readonly free: number[];
  private closed = false;
  private recycled = false;

  /** `reuse`: where the memory comes from and goes back to; without it, fresh memory. */
  constructor(
    readonly count = DEFAULT_SLOTS,
    private readonly reuse?: SlotMemory,
  ) {
    const size = SLOT_BYTES * count;
    this.memory = reuse?.take(size) ?? new SharedArrayBuffer(size);
    this.bytes = Buffer.from(this.memory);
    this.holders = new Uint8Array(count);
    this.free = Array.from({ length: count }, (_, i) => i);
  }

  /** A whole free slot, held once by the caller; an ordinary buffer when none is free. */
  take(): Buffer {
    const slot = this.closed ? undefined : this.free.pop();
    if (slot === undefined) return Buffer.allocUnsafe(SLOT_BYTES);
    this.holders[slot] = 1;
    return this.bytes.subarray(slot * SLOT_BYTES, (slot + 1) * SLOT_BYTES);
  }

  /** True when `chunk` lies in one of these slots. */
  owns(chunk: Buffer): boolean {
    return chunk.buffer === this.memory;
  }

  /** Adds a holder to the slot `chunk` lies in (no-op for other buffers). */
  hold(chunk: Buffer): void {
    const slot = this.slotOf(chunk);
    if (slot < 0) return;
    if (this.holders[slot] === 0) throw new Error(`read slot ${slot} is held after it was freed`);
    this.holders[slot]++;
  }

  /** Drops one holder of the slot `chunk` lies in; the last one frees it (no-op for other buffers). */
  release(chunk: Buffer): void {
    const slot = this.slotOf(chunk);
    if (slot < 0) return;
    // Freeing twice would let two reads share a slot and corrupt the archive: fail loudly instead.
    if (this.holders[slot] === 0) throw new Error(`read slot ${slot} was released more often than held`);
    if (--this.holders[slot] === 0) {
      this.free.push(slot);
      if (this.closed) this.recycleWhenIdle();
    }
  }

  /**
   * The download is over: no slot is handed out any more, and once every held slot is back the
   * memory goes to the next download. Slots a failed pipeline dropped without releasing keep it
   * from being reused; it is then left to the garbage collector.
   */
  close(): void {
    this.closed = true;
    this.recycleWhenIdle();
  }

  /** Slots currently free (for tests and diagnostics). */
  get freeCount(): number {
    return this.free.length;
  }

  private recycleWhenIdle(): void {
    if (this.recycled || this.free.length < this.count) return;
    this.recycled = true;
    this.reuse?.give(this.memory);
  }

  private slotOf(chunk: Buffer): number {
    return this.owns(chunk) ? Math.floor(chunk.byteOffset / SLOT_BYTES) : -1;
  }
}
