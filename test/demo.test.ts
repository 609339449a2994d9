// The README's first command: a throwaway Prometheus and server, one verified archive here.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/processes';

describe('npm run demo', () => {
  it('leaves one verified, extractable backup in the folder it was started from', async () => {
    const here = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-demo-'));
    try {
      const run = spawnSync('bash', [path.join(REPO_ROOT, 'scripts/demo.sh')], {
        cwd: here,
        env: { ...process.env, PROMBACKUP_SKIP_BUILD: '1', NO_COLOR: '1' },
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/verified with the server/);
      const files = (await fs.readdir(here)).sort();
      expect(files).toEqual([files[0], `${files[0]}.sha256`]);
      expect(files[0]).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]+\.tar\.gz$/);
      const listing = execFileSync('tar', ['-tzf', path.join(here, files[0])]).toString();
      expect(listing).toMatch(/\/meta\.json$/m);
      expect(listing).toMatch(/\/chunks\/000001$/m);
    } finally {
      await fs.rm(here, { recursive: true, force: true });
    }
  }, 150_000);
});
