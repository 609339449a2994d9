import { describe, expect, it } from 'vitest';
import { ReadSlots, SLOT_BYTES, SlotMemory } from './read-slots';

describe('ReadSlots', () => {
  it('hands out distinct slots of its shared memory, then ordinary buffers when all are taken', () => {
    const slots = new ReadSlots(3);
    const taken = [slots.take(), slots.take(), slots.take()];
    expect(taken.every((b) => slots.owns(b) && b.length === SLOT_BYTES)).toBe(true);
    expect(new Set(taken.map((b) => b.byteOffset)).size).toBe(3);
    const extra = slots.take();
    expect(slots.owns(extra)).toBe(false);
    expect(extra.length).toBe(SLOT_BYTES);
    expect(slots.freeCount).toBe(0);
  });

  it('frees a slot only when its last holder releases it, for any view into the slot', () => {
    const slots = new ReadSlots(2);
    const chunk = slots.take().subarray(0, 100);
    slots.hold(chunk.subarray(10, 20));
    slots.release(chunk);
    expect(slots.freeCount).toBe(1);
    slots.release(chunk.subarray(50));
    expect(slots.freeCount).toBe(2);
  });

  it('refuses to release or hold a free slot, which would let two reads share it', () => {
    const slots = new ReadSlots(2);
    const chunk = slots.take();
    slots.release(chunk);
    expect(() => slots.release(chunk)).toThrow(/released more often than held/);
    expect(() => slots.hold(chunk)).toThrow(/held after it was freed/);
  });

  it('ignores buffers that are not its own', () => {
    const slots = new ReadSlots(1);
    const other = new ReadSlots(1).take();
    slots.release(Buffer.alloc(10));
    slots.release(other);
    slots.hold(other);
    expect(slots.freeCount).toBe(1);
  });

  it('gives its memory to the next download only once closed and every slot is back', () => {
    const reuse = new SlotMemory();
    const first = new ReadSlots(4, reuse);
    const held = first.take();
    first.close();
    expect(first.owns(first.take())).toBe(false); // closed: no more slots
    const meanwhile = new ReadSlots(4, reuse);
    expect(meanwhile.memory).not.toBe(first.memory); // one slot is still out
    first.release(held);
    const next = new ReadSlots(4, reuse);
    expect(next.memory).toBe(first.memory);
  });

  it('never reuses the memory of a download that dropped a slot without releasing it', () => {
    const reuse = new SlotMemory();
    const leaky = new ReadSlots(5, reuse);
    leaky.take();
    leaky.close();
    expect(new ReadSlots(5, reuse).memory).not.toBe(leaky.memory);
  });
});
