import { beforeEach, describe, expect, it } from 'vitest';
import { SnapshotLocks } from './snapshot-locks';

const A = '20240101T000000Z-aaaa';
const B = '20240101T000000Z-bbbb';

describe('SnapshotLocks', () => {
  let locks: SnapshotLocks;

  beforeEach(() => {
    locks = new SnapshotLocks();
  });

  it('refuses removal while a snapshot is being read', () => {
    expect(locks.acquireRead(A)).toBe(true);
    expect(locks.inUse(A)).toBe(true);
    expect(locks.acquireRemove(A)).toBe('in-use');
  });

  it('allows removal once the last reader is done', () => {
    expect(locks.acquireRead(A)).toBe(true);
    expect(locks.acquireRead(A)).toBe(true);
    locks.releaseRead(A);
    expect(locks.inUse(A)).toBe(true);
    expect(locks.acquireRemove(A)).toBe('in-use');
    locks.releaseRead(A);
    expect(locks.inUse(A)).toBe(false);
    expect(locks.acquireRemove(A)).toBe('acquired');
  });

  it('refuses reading while a snapshot is being removed, and allows it afterwards', () => {
    expect(locks.acquireRemove(A)).toBe('acquired');
    expect(locks.acquireRead(A)).toBe(false);
    expect(locks.inUse(A)).toBe(false);
    locks.releaseRemove(A);
    expect(locks.acquireRead(A)).toBe(true);
  });

  it('lets only one remover at a time, and tells the second that removal is under way', () => {
    expect(locks.acquireRemove(A)).toBe('acquired');
    expect(locks.acquireRemove(A)).toBe('being-removed');
    locks.releaseRemove(A);
    expect(locks.acquireRemove(A)).toBe('acquired');
  });

  it('does not let a refused read count as a reader', () => {
    expect(locks.acquireRemove(A)).toBe('acquired');
    expect(locks.acquireRead(A)).toBe(false);
    locks.releaseRemove(A);
    expect(locks.inUse(A)).toBe(false);
    expect(locks.acquireRemove(A)).toBe('acquired');
  });

  it('does not let a stray release go below zero readers', () => {
    locks.releaseRead(A);
    expect(locks.acquireRead(A)).toBe(true);
    expect(locks.acquireRemove(A)).toBe('in-use');
  });

  it('keeps snapshots apart', () => {
    expect(locks.acquireRead(A)).toBe(true);
    expect(locks.acquireRemove(B)).toBe('acquired');
    expect(locks.inUse(B)).toBe(false);
    expect(locks.acquireRead(B)).toBe(false);
    expect(locks.acquireRead(A)).toBe(true);
  });
});
