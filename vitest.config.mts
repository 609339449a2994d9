import path from 'node:path';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // SWC keeps decorator metadata, which Nest's dependency injection reads.
  plugins: [swc.vite({ module: { type: 'es6' } })],
  resolve: {
    alias: [
      { find: /^@prombackup\/contract$/, replacement: path.resolve(import.meta.dirname, 'libs/contract/src/index.ts') },
      { find: /^@prombackup\/client$/, replacement: path.resolve(import.meta.dirname, 'libs/client/index.ts') },
    ],
  },
  test: {
    include: ['apps/**/*.spec.ts', 'libs/**/*.spec.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration suites start their own Prometheus and server processes; two cores suit two at a time.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
