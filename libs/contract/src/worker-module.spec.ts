import { describe, expect, it } from 'vitest';
import { workerModule } from './worker-module';

describe('workerModule', () => {
  it("finds the worker beside its caller, with the caller's extension", () => {
    expect(workerModule('/app/dist/archive/offthread-zstd.js', 'zstd.worker')).toEqual({ filename: '/app/dist/archive/zstd.worker.js' });
    expect(workerModule('/repo/src/archive/offthread-zstd.ts', 'zstd.worker').filename).toBe('/repo/src/archive/zstd.worker.ts');
  });

  it('has a .ts worker told to strip types only where Node does not by itself', () => {
    const { execArgv } = workerModule('/repo/src/a.ts', 'b.worker');
    if (process.features.typescript) expect(execArgv).toBeUndefined();
    else expect(execArgv).toContain('--experimental-strip-types');
    // Compiled workers inherit the process's options, as before.
    expect(workerModule('/app/dist/a.js', 'b.worker').execArgv).toBeUndefined();
  });
});
