import { describe, expect, it } from 'vitest';
import { COMPRESSION_LEVELS } from '@prombackup/contract';
import { ZSTD_CAPPED_FROM_LEVEL, ZSTD_CAPS, ZSTD_NO_PRESPLIT, ZSTD_OVERLAP_LOG, ZSTD_SHORT_OVERLAP_MAX_LEVEL, zstdParameters } from './zstd-settings';

describe('zstdParameters', () => {
  const { min, max } = COMPRESSION_LEVELS.tzst;
  const levels = Array.from({ length: max - min + 1 }, (_, i) => min + i);

  it('keeps zstd\'s own window and tables below the capped levels', () => {
    for (const level of levels.filter((l) => l < ZSTD_CAPPED_FROM_LEVEL)) {
      const p = zstdParameters(level);
      expect(p).toMatchObject({ compressionLevel: level, checksumFlag: true });
      expect([p.windowLog, p.hashLog, p.chainLog]).toEqual([undefined, undefined, undefined]);
      expect(p.overlapLog).toBe(level <= ZSTD_SHORT_OVERLAP_MAX_LEVEL ? ZSTD_OVERLAP_LOG : undefined);
      expect(p.blockSplitterLevel).toBe(level <= ZSTD_SHORT_OVERLAP_MAX_LEVEL ? ZSTD_NO_PRESPLIT : undefined);
    }
  });

  it('caps window, tables and threads at every level from the capped one up to the highest the API accepts', () => {
    expect(ZSTD_CAPPED_FROM_LEVEL).toBeLessThanOrEqual(max);
    for (const level of levels.filter((l) => l >= ZSTD_CAPPED_FROM_LEVEL)) {
      expect(zstdParameters(level)).toMatchObject({ compressionLevel: level, ...ZSTD_CAPS });
    }
  });
});
